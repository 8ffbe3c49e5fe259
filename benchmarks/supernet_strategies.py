"""REINFORCE against Once-for-All's evolution and against random draws over one trained
supernet: which finds the better sub-network for a board in the same number of evaluations?

    python benchmarks/supernet_ranker.py train      # the supernet, once (resumable)
    python benchmarks/supernet_strategies.py [--device nucleo-f446re] [--max-latency 100] \\
        [--candidates 300] [--seeds 0 1 2]

Each strategy and seed explores `--candidates` sub-networks exactly as `tinynas search --device
A,B` does for one board, in a run folder of its own (benchmarks/out/supernet-strategies/,
resumable): the exact estimators reject the sub-networks over the board's flash, RAM and
latency, and the rest are scored by their inherited accuracy (batch norm recalibrated) on the
first SEARCH_IMAGES held-out images. A score a strategy maximised over hundreds of candidates
is biased upwards, so the best found is measured again on the held-out images it was not
chosen on. Printed: per strategy, the best score after each CHECKPOINTS evaluations (mean and
range over seeds), the re-measured accuracy, the share rejected and the seconds; the record is
benchmarks/data/supernet-fashion-mnist/strategies.json. The supernet is the one of
`supernet_ranker.py` (same space, same split: 54,000 training and 6,000 held-out images of
Fashion-MNIST's training set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
from supernet_ranker import DATA, OUT, _supernet

from tinynas.pipeline import BOARD_STRATEGIES
from tinynas.pipeline._boards import SCORE_IMAGES as SEARCH_IMAGES  # as `search --device A,B`

RUNS = OUT.parent / "supernet-strategies"
CHECKPOINTS = (25, 50, 100, 200, 300)


def _run(strategy_name: str, seed: int, args: argparse.Namespace, net: Any,
         split: Any) -> dict[str, Any]:
    from tinynas.devices import get_device
    from tinynas.estimators import Budget
    from tinynas.pipeline import ExploreLimits, board_strategy, explore, replay
    from tinynas.search import SearchSpace
    from tinynas.store import CandidateStatus, open_run
    from tinynas.supernet import SupernetMetric, SupernetSchema, config_of, inherited_accuracy

    device = get_device(args.device)
    budget = Budget.for_device(device, max_latency_ms=args.max_latency)
    out = RUNS / f"{args.device}-{args.max_latency:g}ms" / f"{strategy_name}-{seed}"
    settings = {"device": device.name, "strategy": strategy_name, "seed": seed,
                "metric": "supernet", "max_latency_ms": args.max_latency}
    store = open_run(out, settings, (out / "run.db").exists(), tuple(settings))
    space = SearchSpace(net.space.input_shape, net.space.num_classes)
    strategy = board_strategy(strategy_name, space, SupernetSchema(net.space), seed)
    replay(store, strategy, "supernet")
    metric = SupernetMetric(net, split.x_train, split.x_val[:SEARCH_IMAGES],
                            split.y_val[:SEARCH_IMAGES])
    clock = time.monotonic()
    explore(store, strategy, metric, (split.x_train[:0], split.y_train[:0]), device, budget,
            ExploreLimits(candidates=args.candidates), seed)
    seconds = time.monotonic() - clock + float(store.get_meta("search_s") or 0.0)
    store.set_meta("search_s", seconds)
    records = sorted(store.candidates(), key=lambda r: r.id)
    store.close()
    scores = [r.scores.get("supernet") if r.status != CandidateStatus.REJECTED else None
              for r in records]
    best_after = {}
    for n in CHECKPOINTS:
        seen = [s for s in scores[:n] if s is not None]
        if n <= len(scores) and seen:
            best_after[n] = max(seen)
    winner = max((r for r in records if r.status != CandidateStatus.REJECTED),
                 key=lambda r: (r.scores["supernet"], -r.id))
    unseen = inherited_accuracy(net, config_of(net.space, winner.architecture), split.x_train,
                                split.x_val[SEARCH_IMAGES:], split.y_val[SEARCH_IMAGES:])
    rejected = sum(s is None for s in scores)
    return {"strategy": strategy_name, "seed": seed, "evaluated": len(records),
            "rejected": rejected,
            "distinct_scored": len(records) - rejected,  # the store holds a hash once
            "best_after": best_after, "winner_search_score": winner.scores["supernet"],
            "winner_unseen_accuracy": unseen, "winner_macs": int(winner.estimates["macs"]),
            "winner_latency_ms": winner.estimates.get("latency_ms"),
            "winner": json.loads(winner.architecture.to_json()), "search_s": seconds}


def _table(rows: list[dict[str, Any]], candidates: int) -> str:
    points = [n for n in CHECKPOINTS if n <= candidates]
    head = ("| strategy | " + " | ".join(f"best after {n}" for n in points)
            + " | winner on unseen images | rejected | seconds per run |")
    lines = [head, "|---|" + "---:|" * (len(points) + 3)]
    for name in BOARD_STRATEGIES:
        mine = [r for r in rows if r["strategy"] == name]
        if not mine:
            continue

        def cell(values: list[float]) -> str:
            return (f"{np.mean(values):.2%} [{min(values):.2%}, {max(values):.2%}]"
                    if values else "-")

        cells = [cell([r["best_after"][n] for r in mine if n in r["best_after"]])
                 for n in points]
        lines.append(f"| {name} | " + " | ".join(cells) + " | "
                     + cell([r["winner_unseen_accuracy"] for r in mine]) + " | "
                     + f"{np.mean([r['rejected'] / r['evaluated'] for r in mine]):.0%} | "
                     + f"{np.mean([r['search_s'] for r in mine]):.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="nucleo-f446re")
    parser.add_argument("--max-latency", type=float, default=100.0,
                        help="Milliseconds (predicted); tightens the board's budget.")
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=list(BOARD_STRATEGIES),
                        choices=BOARD_STRATEGIES)
    parser.add_argument("--epochs-per-phase", type=float, default=3.0,
                        help="The supernet's, as it was trained by supernet_ranker.py.")
    args = parser.parse_args()
    if not (OUT / "supernet.pt").exists():
        print("no trained supernet: run python benchmarks/supernet_ranker.py train first",
              file=sys.stderr)
        return 1
    net, split = _supernet(args.epochs_per_phase, train=False)
    rows = []
    for seed in args.seeds:
        for name in args.strategies:
            row = _run(name, seed, args, net, split)
            print(f"{name} seed {seed}: best {row['winner_search_score']:.4f}, unseen "
                  f"{row['winner_unseen_accuracy']:.4f}, {row['search_s']:.0f} s", flush=True)
            rows.append(row)
    table = _table(rows, args.candidates)
    print(table)
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "strategies.json").write_text(json.dumps({
        "command": "python benchmarks/supernet_strategies.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "device": args.device, "max_latency_ms": args.max_latency,
        "candidates": args.candidates, "search_images": SEARCH_IMAGES,
        "unseen_images": len(split.x_val) - SEARCH_IMAGES, "runs": rows, "table": table,
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
