"""Each ranker's tau on the parts of a grown validation: its own seeded architectures, and
each file of architectures added to it (`proxies validate --add-archs`).

    python benchmarks/validation_subsets.py \\
        benchmarks/data/proxy-validation-fashion-mnist-final \\
        --part "μNAS space, seeded"=0:200 --part "regular space"=200:224 \\
        --part "global average pooling"=224:240

Prints two Markdown tables. First the whole validation's (from its summary.json): per ranker,
tau with its interval, tau as a fraction of the noise ceiling, the paired interval of its
difference to params and to macs, and its top tenth. Then per part and ranker, Kendall's tau
against the measured accuracy with its 95% bootstrap interval (1000 resamples of the part's
architectures), and the mean accuracy of the ranker's top picks in the part (its best-scored
tenth, at least 5, as the validation's summary counts them). The learned
ranker's scores are its out-of-fold predictions over the whole validation (summary.json), so
on a part they are predictions for architectures it was not fitted on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.proxies import ResultsFile, bootstrap_taus, correlate, top_picks

RANKERS = ("learned", "params", "macs", "snip", "naswot", "swap")


def _part(text: str) -> tuple[str, slice]:
    name, _, span = text.rpartition("=")
    start, _, stop = span.partition(":")
    return name, slice(int(start), int(stop))


def _signed(delta: dict[str, Any] | None) -> str:
    if delta is None:
        return "-"
    low, high = delta["delta_ci"]
    return f"{delta['delta']:+.3f} [{low:+.3f}, {high:+.3f}]"


def whole_table(summary: dict[str, Any]) -> list[str]:
    """The docs' table of every ranker over the whole validation, best tau first."""
    lines = ["| ranker | cost | Kendall tau | 95% CI | tau / ceiling | vs params, paired 95% CI "
             "| vs macs | top-10% mean acc | top-10% regret | median ms per architecture |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    entries = sorted(summary["metrics"].items(), key=lambda kv: -(kv[1]["tau"] or -2))
    for name, m in entries:
        label = {"learned": "learned (5-fold, out of fold)",
                 "ensemble": f"ensemble ({', '.join(m.get('members', []))})"}.get(name, name)
        cost = m.get("cost", "fitted" if m["kind"] == "learned" else m["kind"])
        low, high = m["tau_ci"]
        share = m.get("tau_over_ceiling")
        versus = m.get("vs_baselines", {})
        top = m["top_k"]
        lines.append(
            f"| {label} | {cost} | {m['tau']:+.3f} | [{low:+.3f}, {high:+.3f}] | "
            f"{'-' if share is None else f'{share:.2f}'} | {_signed(versus.get('params'))} | "
            f"{_signed(versus.get('macs'))} | {100 * top['mean_accuracy']:.1f}% | "
            f"{100 * top['regret']:.1f} | {m['median_ms']:.3g} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("validation", type=Path)
    parser.add_argument("--part", action="append", type=_part, required=True,
                        help='NAME=START:STOP, architecture indices (STOP excluded)')
    args = parser.parse_args()
    summary = json.loads((args.validation / "summary.json").read_text())
    names = summary["settings"]["metrics"]
    rows = sorted(ResultsFile(args.validation / "results.csv", names).load(),
                  key=lambda r: r.index)
    accuracy = np.array([r.accuracy for r in rows])
    columns = {name: np.array(summary["metrics"]["learned"]["predictions"]) if name == "learned"
               else np.array([r.scores[name] for r in rows]) for name in RANKERS}
    print("\n".join(whole_table(summary)) + "\n")
    print("| part | architectures | median accuracy | "
          + " | ".join(f"{n} tau [95% CI], top picks' acc" for n in RANKERS) + " |")
    print("|---|---:|---:|" + "---:|" * len(RANKERS))
    for name, span in args.part:
        acc = accuracy[span]
        part = {n: c[span] for n, c in columns.items()}
        boot = bootstrap_taus(part, acc)
        cells = []
        for ranker in RANKERS:
            c = correlate(part[ranker], acc, boot[ranker])
            top = top_picks(part[ranker], acc)
            cells.append(f"{c.tau:+.3f} [{c.tau_low:+.3f}, {c.tau_high:+.3f}], "
                         f"{100 * top['mean_accuracy']:.1f}%")
        print(f"| {name} | {len(acc)} | {100 * np.median(acc):.1f}% | " + " | ".join(cells)
              + " |")


if __name__ == "__main__":
    main()
