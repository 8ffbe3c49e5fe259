"""Search quality against strategy at equal compute.

Three searches per seed, each with the same exploration count, shortlist, training budget and
board budget: `evolution` with the default metric, `random` with the same metric, and `random`
with `params`. Reports the best test accuracy each found (float, measured on the test split,
and int8, measured with the int8 model), and the compute each spent.

    python benchmarks/strategy_comparison.py --seeds 0 1 2 [--candidates 1000] [--metric auto]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from tinynas.pipeline import SearchConfig, resolve_metric, run_search
from tinynas.store import RunStore

SETTINGS = [("evolution", None), ("random", None), ("random", "params")]
# --compare scaling: compound scaling against grid and random at equal compute
SCALING = [("compound", None), ("grid", None), ("random", None)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="nucleo-l4r5zi")
    parser.add_argument("--max-ram", type=int, default=65_536)
    parser.add_argument("--max-flash", type=int, default=65_536)
    parser.add_argument("--max-latency", type=float, default=None, help="predicted ms")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--shortlist", type=int, default=4)
    parser.add_argument("--halving-epochs", type=float, default=0.5)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--train-subset", type=int, default=10_000)
    parser.add_argument("--metric", default="auto")
    parser.add_argument("--root", type=Path, default=Path("benchmarks/out/strategies"))
    parser.add_argument("--compare", choices=["strategies", "scaling"], default="strategies",
                        help="scaling: compound, grid and random (the compound constants "
                             "of each run are in its run store)")
    args = parser.parse_args()
    settings = SCALING if args.compare == "scaling" else SETTINGS
    metric = resolve_metric(args.metric, "fashion-mnist")
    rows = []
    for seed in args.seeds:
        for strategy, fixed_metric in settings:
            name = f"{strategy}-{fixed_metric or metric}-s{seed}"
            config = SearchConfig(
                device=args.device, out=args.root / f"{name}-{int(time.time())}",
                strategy=strategy, metric=fixed_metric or metric, candidates=args.candidates,
                max_flash_bytes=args.max_flash, max_ram_bytes=args.max_ram,
                max_latency_ms=args.max_latency,
                shortlist=args.shortlist, halving_epochs=args.halving_epochs,
                epochs=args.epochs, train_subset=args.train_subset, seed=seed)
            summary = run_search(config)
            row = {"strategy": strategy, "metric": config.metric, "seed": seed,
                   "float_accuracy": summary.float_accuracy,
                   "int8_accuracy": summary.int8_accuracy, "seconds": summary.seconds,
                   "flash_bytes": summary.flash_bytes, "arena_bytes": summary.arena_bytes}
            with RunStore.open(config.out, writable=False) as store:
                row["found"] = store.get_meta("strategy")  # compound: the fitted constants
            rows.append(row)
            print(json.dumps(row), flush=True)
    (args.root / "summary.json").write_text(json.dumps(rows, indent=2))
    print("\n| strategy | metric | int8 test accuracy per seed | mean | mean compute, s |")
    print("|---|---|---|---|---|")
    for strategy, fixed in settings:
        m = fixed or metric
        sel = [r for r in rows if r["strategy"] == strategy and r["metric"] == m]
        accs = [r["int8_accuracy"] or 0.0 for r in sel]
        print(f"| {strategy} | {m} | {', '.join(f'{a:.2%}' for a in accs)} | "
              f"{statistics.mean(accs):.2%} | {statistics.mean(r['seconds'] for r in sel):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
