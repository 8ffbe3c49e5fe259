"""The μNAS reference point: Fashion-MNIST under μNAS's constraints.

μNAS (Liberis et al. 2021) reports 93.22% on Fashion-MNIST for a model of <= 64 KB with a peak
activation of <= 12.6 KB as μNAS counts it, after 3 GPU-days of search
(reference/search-and-metrics.md section 1). This script runs `tinynas search` under the same
two constraints, each counted as μNAS counts it (model size <= 64,000 B at one byte per
parameter, μNAS peak <= 12,600 B; on nucleo-l4r5zi) on the whole
Fashion-MNIST training split and reports the int8 test accuracy of the chosen model, its TFLM
arena, and the compute spent, as JSON and as a Markdown row for docs/benchmarks.md.

With --arch FILE it trains that architecture instead, with the search's own recipe and final
training, and reports the same numbers: a check of what the recipe reaches on a given network
under the constraints (the architecture must meet them). --distill trains the distillation
teacher first and distills it into the final training, as `tinynas search --distill` does.

    python benchmarks/unas_reference.py --capacity-picks 3 --epochs 120 --distill
    python benchmarks/unas_reference.py --arch benchmarks/archs/unas-cap-61k.json --epochs 60 \
        --distill
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

UNAS_SIZE_BYTES = 64_000  # "model <= 64 KB": μNAS counts one byte per parameter
UNAS_PEAK_BYTES = 12_600  # "peak activation <= 12.6 KB", μNAS's own count
UNAS_ACCURACY = 0.9322
DEVICE = "nucleo-l4r5zi"
OUT = Path("benchmarks") / "out" / "unas_reference"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-count", choices=("unas", "file"), default="unas",
                        help="model size as μNAS counts it (one byte per parameter) or as "
                             "the .tflite file's bytes (stricter: int32 biases, scales)")
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--metric", default="auto")
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--shortlist", type=int, default=8)
    parser.add_argument("--capacity-picks", type=int, default=0,
                        help="shortlist slots for the candidates with the most MACs")
    parser.add_argument("--halving-epochs", type=float, default=1.0)
    parser.add_argument("--epochs", type=float, default=40.0, help="the winner's full training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--erase", type=float, default=None,
                        help="random-erasing chance per image (default: the search's recipe)")
    parser.add_argument("--label-smoothing", type=float, default=None,
                        help="label smoothing (default: the search's recipe)")
    parser.add_argument("--ema", type=float, default=None,
                        help="weight-average decay (default: the search's recipe)")
    parser.add_argument("--distill", action="store_true",
                        help="train a teacher and distill it into the final training")
    parser.add_argument("--distill-weight", type=float, default=None,
                        help="with --arch --distill: the soft targets' share of the loss "
                             "(default: the search's)")
    parser.add_argument("--arch", type=Path, help="train this architecture instead of searching")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--resume", action="store_true", help="continue the search in --out")
    return parser.parse_args()


def _host() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    return {"machine": platform.machine(), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if cuda else None}


def _size_limit(args: argparse.Namespace) -> dict[str, int]:
    """The model-size limit as a SearchConfig field: μNAS's count or the file's bytes."""
    key = "max_unas_size_bytes" if args.size_count == "unas" else "max_flash_bytes"
    return {key: UNAS_SIZE_BYTES}


def _search(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from tinynas.estimators import estimate
    from tinynas.pipeline import SearchConfig, run_search
    from tinynas.space import Architecture

    config = SearchConfig(
        device=DEVICE, out=out, strategy=args.strategy, metric=args.metric,
        candidates=args.candidates, **_size_limit(args),
        max_unas_peak_bytes=UNAS_PEAK_BYTES, shortlist=args.shortlist,
        capacity_picks=args.capacity_picks, halving_epochs=args.halving_epochs,
        epochs=args.epochs, distill=args.distill, seed=args.seed)
    s = run_search(config, resume=args.resume).to_dict()
    chosen = estimate(Architecture.from_json((out / "architecture.json").read_text()))
    return {"mode": "search", "strategy": s["strategy"], "metric": s["metric"],
            "capacity_picks": args.capacity_picks, "shortlist": _trained(out),
            "evaluated": s["evaluated"], "trained": s["trained"], "seconds": s["seconds"],
            "architecture_hash": s["hash"], "float_accuracy": s["float_accuracy"],
            "int8_accuracy": s["int8_accuracy"], "flash_bytes": s["flash_bytes"],
            "arena_bytes": s["arena_bytes"], "unas_peak_bytes": s["unas_peak_bytes"],
            "unas_size_bytes": chosen.params, "macs": chosen.macs, "teacher": s["teacher"]}


def _trained(out: Path) -> list[dict[str, Any]]:
    """Every trained candidate of the run: its size, whether it was a capacity pick, and its
    validation accuracy after each successive-halving rung (train seconds summed)."""
    from tinynas.store import RunStore

    with RunStore.open(out, writable=False) as store:
        picks = set(store.get_meta("capacity_picks") or [])
        rows: dict[int, dict[str, Any]] = {}
        for t in store.trainings():
            if not t.stage.startswith("halving"):
                continue
            if t.candidate_id not in rows:
                c = store.candidate(t.candidate_id)
                rows[t.candidate_id] = {
                    "id": c.id, "capacity_pick": c.id in picks, "macs": c.estimates["macs"],
                    "params": c.estimates["params"], "rungs": {}, "train_seconds": 0.0}
            rows[t.candidate_id]["rungs"][t.stage] = t.val_accuracy
            rows[t.candidate_id]["train_seconds"] += t.train_seconds
    return list(rows.values())


def _recipe_override(recipe: Any, args: argparse.Namespace) -> Any:
    from dataclasses import replace

    if args.erase is not None:
        recipe = replace(recipe, erase_p=args.erase)
    if args.label_smoothing is not None:
        recipe = replace(recipe, label_smoothing=args.label_smoothing)
    if args.ema is not None:
        recipe = replace(recipe, ema_decay=args.ema)
    return recipe


def _progress(started: float) -> Any:
    """Prints the elapsed time after each tenth of the training to stderr."""

    def on_step(step: int, total: int) -> None:
        if step % max(1, total // 10) == 0 or step == total:
            print(f"step {step}/{total}, {time.monotonic() - started:.0f} s", file=sys.stderr,
                  flush=True)  # fmt: skip

    return on_step


def _train_one(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from dataclasses import asdict, replace

    import numpy as np

    from tinynas.data import SplitData, load_dataset
    from tinynas.estimators import Budget, estimate
    from tinynas.export import export_model
    from tinynas.pipeline import teacher_targets
    from tinynas.space import Architecture
    from tinynas.store import RunStore
    from tinynas.train import distilled_recipes, recipe_for, train

    arch = Architecture.from_json(args.arch.read_text())
    est = estimate(arch)
    limit = _size_limit(args)
    over = Budget(flash_bytes=limit.get("max_flash_bytes"), unas_peak_bytes=UNAS_PEAK_BYTES,
                  unas_size_bytes=limit.get("max_unas_size_bytes")).violations(est)
    if over:
        raise SystemExit(f"{args.arch} does not meet μNAS's constraints: {'; '.join(over)}")
    ds = load_dataset("fashion-mnist")
    started = time.monotonic()
    recipe = _recipe_override(recipe_for(ds.name, args.epochs), args)
    soft, teacher = None, None
    if args.distill:
        recipe, teacher_recipe = distilled_recipes(recipe)
        if args.distill_weight is not None:
            recipe = replace(recipe, distill_weight=args.distill_weight)
        full = SplitData(ds.x_train, ds.y_train, ds.x_train[:0], ds.y_train[:0], ds.num_classes)
        with RunStore.memory() as store:  # the teacher is trained here and not kept
            soft = teacher_targets(store, full, ds.x_test, ds.y_test, teacher_recipe, args.seed,
                                   recipe.flip)
            teacher = store.get_meta("teacher")
    result = train(arch, ds.x_train, ds.y_train, ds.x_test[:0], ds.y_test[:0],
                   recipe, seed=args.seed, on_step=_progress(started), soft=soft)
    pick = np.random.default_rng(args.seed).choice(len(ds.x_train), 512, replace=False)
    exported = export_model(arch, result.net, out, dataset_name=ds.name,
                            test_inputs=ds.x_test, test_labels=ds.y_test,
                            representative=ds.x_train[pick])
    return {"mode": "architecture", "architecture": str(args.arch),
            "architecture_hash": arch.content_hash, "evaluated": 1, "trained": 1,
            "seconds": time.monotonic() - started, "recipe": asdict(recipe),
            "float_accuracy": exported.verification.float_accuracy,
            "int8_accuracy": exported.verification.int8_accuracy,
            "flash_bytes": exported.tflite_path.stat().st_size,
            "arena_bytes": int(exported.card["tflm_arena_bytes"]),
            "unas_peak_bytes": est.unas_peak_bytes, "unas_size_bytes": est.params,
            "macs": est.macs, "teacher": teacher}


def main() -> int:
    args = _arguments()
    name = f"arch-{args.arch.stem}" if args.arch else f"{args.strategy}-s{args.seed}"
    out = args.out or OUT / name
    out.mkdir(parents=True, exist_ok=True)
    row = _train_one(args, out) if args.arch else _search(args, out)
    row.update({"epochs": args.epochs, "host": _host(), "date": time.strftime("%Y-%m-%d"),
                "reference": {"unas_accuracy": UNAS_ACCURACY, "size_count": args.size_count,
                              "size_bytes": UNAS_SIZE_BYTES,
                              "unas_peak_bytes": UNAS_PEAK_BYTES},
                "provenance": {"accuracy": "measured (test split; int8 with TFLM)",
                               "flash_bytes": "measured (file)", "arena_bytes": "measured (TFLM)",
                               "unas_peak_bytes": "estimated",
                               "unas_size_bytes": "estimated (parameters)"}})
    (out / "unas_reference.json").write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row, indent=2))
    gap = (row["int8_accuracy"] or 0.0) - UNAS_ACCURACY
    print(f"\n| {row['mode']} | {row.get('metric', '-')} | {row['float_accuracy']:.2%} | "
          f"{row['int8_accuracy']:.2%} ({gap:+.2%} vs μNAS) | {row['flash_bytes']:,} | "
          f"{row['unas_peak_bytes']:,} | {row['arena_bytes']:,} | {row['seconds'] / 60:.0f} min |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
