"""Search quality against strategy at equal compute.

Three searches per seed, each with the same exploration count, shortlist, training budget and
board budget: `evolution` with the default metric, `random` with the same metric, and `random`
with `params`; with `--compare scaling`, `compound`, `grid` and `random`, all with the default
metric (each compound row also keeps the constants fitted per base and where its winner came
from). Reports the best test accuracy each found (float, measured on the test split, and int8,
measured with the int8 model), and the compute each spent.

    python benchmarks/strategy_comparison.py --seeds 0 1 2 [--candidates 1000] [--metric auto]
    python benchmarks/strategy_comparison.py --compare scaling --device nucleo-f446re \
        --max-ram board --max-flash board --max-latency 200

Each search's row is kept in the record (--record) as it finishes; a killed comparison is rerun
with the same arguments and trains only the searches it has no row for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tinynas.devices import get_device
from tinynas.estimators import Budget
from tinynas.pipeline import SearchConfig, resolve_metric, run_search
from tinynas.search import MAX_STEPS, PHI_STEP, CompoundStrategy, SearchSpace, compound_scale
from tinynas.store import RunStore

SETTINGS = [("evolution", None), ("random", None), ("random", "params")]
# --compare scaling: compound scaling against grid and random at equal compute
SCALING = [("compound", None), ("grid", None), ("random", None)]


def _limit(text: str) -> int | None:
    """A byte limit; 'board' (None) leaves the board's own budget."""
    return None if text == "board" else int(text)


def _finished_runs(root: Path, pattern: str, same: dict[str, Any]) -> list[Path]:
    """The finished run folders under `root` matching `pattern` whose board and limits are
    `same`'s, oldest first."""
    found = []
    for out in sorted(root.glob(pattern), key=lambda p: p.name.rsplit("-", 1)[-1]):
        if not RunStore.holds_run(out):
            continue
        with RunStore.open(out, writable=False) as store:
            config, status = store.config(), store.get_meta("status")
        if status == "finished" and all(
                config[k] == same[s] for k, s in (("device", "device"),
                                                  ("max_flash_bytes", "max_flash"),
                                                  ("max_ram_bytes", "max_ram"),
                                                  ("max_latency_ms", "max_latency"),
                                                  ("candidates", "candidates"),
                                                  ("epochs", "epochs"))):
            found.append(out)
    return found


def winner_origin(out: Path) -> dict[str, Any] | None:
    """Where a compound run's delivered network came from: an explored sample, a grid point
    at phi = 1 of some base, or a base scaled to phi > 1 (with that base's constants)."""
    with RunStore.open(out, writable=False) as store:
        chosen, config, found = store.chosen(), store.config(), store.get_meta("strategy")
        if chosen is None or not found:
            return None
        device = get_device(config["device"])
        budget = Budget.for_device(device, config["max_flash_bytes"], config["max_ram_bytes"],
                                   config["max_latency_ms"])
        strategy = CompoundStrategy(SearchSpace(chosen.architecture.input_shape,
                                                chosen.architecture.num_classes), 0,
                                    device, budget)
        for i, fitted in enumerate(found["compound"]):
            base = store.find(fitted["base"])
            if base is None:
                continue
            where = {"base_rank": i, "base": fitted["base"], **fitted}
            if base.hash == chosen.hash:
                return {**where, "phi": 0.0}
            for arch, point in strategy.fit_grid(base.architecture):
                if arch.content_hash == chosen.hash:
                    return {**where, "phi": 1.0, "grid_point": list(point)}
            c = (fitted["depth"], fitted["width"], fitted["resolution"])
            for step in range(1, MAX_STEPS + 1):
                phi = 1.0 + step * PHI_STEP
                arch = compound_scale(base.architecture, *(v ** phi for v in c))
                if arch.content_hash == chosen.hash:
                    return {**where, "phi": phi}
    return {"explored": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="nucleo-l4r5zi")
    parser.add_argument("--max-ram", type=_limit, default=65_536,
                        help="bytes, or 'board' for the board's own RAM budget")
    parser.add_argument("--max-flash", type=_limit, default=65_536,
                        help="bytes, or 'board' for the board's own flash budget")
    parser.add_argument("--max-latency", type=float, default=None, help="predicted ms")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--shortlist", type=int, default=4)
    parser.add_argument("--halving-epochs", type=float, default=0.5)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--train-subset", type=int, default=10_000)
    parser.add_argument("--metric", default="auto")
    parser.add_argument("--root", type=Path, default=Path("benchmarks/out/strategies"))
    parser.add_argument("--record", type=Path,
                        help="JSON lines, one row a search [default: "
                             "benchmarks/data/strategies/COMPARE-DEVICE.jsonl]")
    parser.add_argument("--compare", choices=["strategies", "scaling"], default="strategies",
                        help="scaling: compound, grid and random (the compound constants "
                             "of each run are in its record row, under 'found')")
    args = parser.parse_args()
    settings = SCALING if args.compare == "scaling" else SETTINGS
    metric = resolve_metric(args.metric, "fashion-mnist")
    record = args.record or (Path("benchmarks/data/strategies")
                             / f"{args.compare}-{args.device}.jsonl")
    # a kept row is reused only by a rerun with the same search settings
    same = {k: getattr(args, k) for k in ("device", "max_ram", "max_flash", "max_latency",
                                          "candidates", "shortlist", "halving_epochs",
                                          "epochs", "train_subset")}
    record.parent.mkdir(parents=True, exist_ok=True)
    kept = ([json.loads(line) for line in record.read_text().splitlines() if line.strip()]
            if record.exists() else [])
    rows = []
    amended = False
    for seed in args.seeds:
        for strategy, fixed_metric in settings:
            name = f"{strategy}-{fixed_metric or metric}-s{seed}"
            done = [r for r in kept if (r["strategy"], r["metric"], r["seed"]) ==
                    (strategy, fixed_metric or metric, seed) and r.get("settings") == same]
            if done:
                rows.append(done[0])
                if strategy == "compound" and "winner_origin" not in done[0]:
                    # a row kept before the record held the winner's origin
                    runs = _finished_runs(args.root, f"*{name}-*", same)
                    if runs:
                        done[0]["winner_origin"] = winner_origin(runs[-1])
                        amended = True
                continue
            config = SearchConfig(
                device=args.device,
                out=args.root / f"{args.device}-{name}-{int(time.time())}",
                strategy=strategy, metric=fixed_metric or metric, candidates=args.candidates,
                max_flash_bytes=args.max_flash, max_ram_bytes=args.max_ram,
                max_latency_ms=args.max_latency,
                shortlist=args.shortlist, halving_epochs=args.halving_epochs,
                epochs=args.epochs, train_subset=args.train_subset, seed=seed)
            summary = run_search(config)
            row = {"strategy": strategy, "metric": config.metric, "seed": seed,
                   "settings": same,
                   "float_accuracy": summary.float_accuracy,
                   "int8_accuracy": summary.int8_accuracy, "seconds": summary.seconds,
                   "flash_bytes": summary.flash_bytes, "arena_bytes": summary.arena_bytes}
            with RunStore.open(config.out, writable=False) as store:
                row["found"] = store.get_meta("strategy")  # compound: the fitted constants
            if strategy == "compound":
                row["winner_origin"] = winner_origin(config.out)
            rows.append(row)
            with record.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    if amended:
        record.write_text("".join(json.dumps(r) + "\n" for r in kept))
    args.root.mkdir(parents=True, exist_ok=True)
    (args.root / "summary.json").write_text(json.dumps(rows, indent=2))
    print("\n| strategy | metric | int8 test accuracy per seed | mean | mean compute, s |")
    print("|---|---|---|---|---|")
    for strategy, fixed in settings:
        m = fixed or metric
        sel = [r for r in rows if r["strategy"] == strategy and r["metric"] == m]
        accs = [r["int8_accuracy"] or 0.0 for r in sel]
        print(f"| {strategy} | {m} | {', '.join(f'{a:.2%}' for a in accs)} | "
              f"{statistics.mean(accs):.2%} | {statistics.mean(r['seconds'] for r in sel):.0f} |")
    if args.compare == "scaling":
        _print_constants([r for r in rows if r["strategy"] == "compound"])
    return 0


def _print_constants(rows: list[dict[str, Any]]) -> None:
    """Per compound run: the constants fitted per binding resource, and the winner's."""
    print("\n| seed | bases scaled | (a, b, g) fitted, by binding resource (count) | "
          "winner |")
    print("|---|---|---|---|")
    for r in rows:
        fitted = (r.get("found") or {}).get("compound", [])
        by: dict[str, list[str]] = {}
        for c in fitted:
            by.setdefault(c["resource"], []).append(
                f"({c['depth']:g}, {c['width']:g}, {c['resolution']:g})")
        cells = "; ".join(f"{res} ({len(v)}): {', '.join(v)}" for res, v in sorted(by.items()))
        w = r.get("winner_origin") or {}
        if w.get("phi") == 0.0:
            winner = f"base {w['base_rank'] + 1} itself, unscaled"
        elif "phi" in w:
            winner = (f"base {w['base_rank'] + 1}, {w['resource']}, ({w['depth']:g}, "
                      f"{w['width']:g}, {w['resolution']:g}) at phi = {w['phi']:g}")
        else:
            winner = "an explored sample" if w else "?"
        print(f"| {r['seed']} | {len(fitted)} | {cells} | {winner} |")


if __name__ == "__main__":
    sys.exit(main())
