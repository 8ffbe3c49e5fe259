"""Proxy validation on Fashion-MNIST: which trainingless metric ranks small networks best?

Samples architectures that fit nucleo-l4r5zi with the TFLM arena limited to 64 KiB
(65,536 B; the board's flash budget unchanged), scores each with every metric, trains each
with one fixed recipe, and prints a Markdown table for docs/benchmarks.md: per ranker the
signed Kendall tau against measured accuracy, its 95 % bootstrap interval (1000 resamples of
the architectures), Spearman rho, tau as a fraction of the noise ceiling (architectures trained
twice with different seeds), and the median milliseconds per architecture.

The training budget is stated, not hidden: by default each architecture trains 2 epochs on a
seeded subset of 10,000 Fashion-MNIST training images (batch 256, SGD Nesterov, lr 0.05,
warm-up 0.25 epoch, cosine), on CUDA when present, else the CPU on one torch thread; accuracy
is measured on the 6,000 training images held out for validation. The first 10 architectures
are trained a second time for the noise ceiling. Results are appended per architecture, so a
killed run continues with --resume.

    python benchmarks/proxy_validation.py                # the full run: 200 architectures
    python benchmarks/proxy_validation.py --samples 8 --out /tmp/pv   # a quick check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from tinynas.proxies import ValidationConfig, markdown_table, validate_proxies
from tinynas.units import parse_size

OUT = Path("benchmarks") / "out" / "proxy_validation"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--max-ram", default="64KiB")
    parser.add_argument("--max-latency", type=float, default=None,
                        help="predicted ms on the board; bounds the training compute")
    parser.add_argument("--device", default="nucleo-l4r5zi")
    parser.add_argument("--metrics", default="", help="comma-separated; default every metric")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    return parser.parse_args()


def _progress(start: float) -> Any:
    def report(done: int, total: int) -> None:
        elapsed = time.monotonic() - start
        print(f"[{elapsed:7.0f} s] {done}/{total} architectures", flush=True)

    return report


def _learned_lines(summary: dict[str, Any]) -> list[str]:
    learned = summary["metrics"].get("learned")
    if learned is None:
        return []
    curve = ", ".join(f"{k} trained: {'n/a' if v is None else f'{v:+.3f}'}"
                      for k, v in learned["learning_curve"].items())
    needed = learned["needed"]
    return [
        f"Learned ranker, {learned['folds']}-fold out of fold (fitted on {learned['train_size']}"
        f" architectures per fold): tau {learned['tau']:+.3f}. Held-out tau when fitted on "
        f"{curve or 'fewer architectures (too few to say)'}.",
        "It beat the best scored metric with " + (f"{needed} trained architectures." if needed
                                                   else "no training-set size tried."),
    ]


def _verdict_lines(summary: dict[str, Any]) -> list[str]:
    best, overall = summary["best"]["metric"], summary["best_overall"]["metric"]
    baselines = ", ".join(summary["baselines"])
    if best is None and overall is None:
        return [f"No ranker beat {baselines} by more than its bootstrap interval."]
    chosen = best or overall
    vs = summary["metrics"][chosen]["vs_baselines"]
    margins = "; ".join(f"{b} {v['delta']:+.3f} [{v['delta_ci'][0]:+.3f}, "
                        f"{v['delta_ci'][1]:+.3f}]" for b, v in vs.items())
    lines = [f"Best ranker: {chosen} (tau margin over each baseline, paired 95% CI: {margins})."]
    if best is None:
        lines.append(f"{chosen} is not a standalone metric; no registry metric beat the "
                     "baselines, so search --metric auto keeps its default.")
    return lines


def main() -> None:
    args = _arguments()
    config = ValidationConfig(
        "fashion-mnist", device=args.device, samples=args.samples, epochs=args.epochs,
        metrics=tuple(m for m in args.metrics.split(",") if m),
        train_images=args.train_images, repeats=min(args.repeats, args.samples),
        seed=args.seed, max_ram_bytes=parse_size(args.max_ram), max_latency_ms=args.max_latency,
    )  # fmt: skip
    start = time.monotonic()
    summary = validate_proxies(config, args.out, resume=args.resume,
                               progress=_progress(start))
    print()
    print(markdown_table(summary))
    print()
    for line in _learned_lines(summary) + _verdict_lines(summary):
        print(line)
    print(f"\nwall-clock {time.monotonic() - start:.0f} s; files in {args.out}")


if __name__ == "__main__":
    main()
