"""Width refinement against the unrefined network, RARTS against first-order DARTS.

Starts from a search run's chosen architecture and its board budget. For each seed: retrains
the unrefined network, and refines it with RARTS and with first-order DARTS (then retrains the
refined network with the same recipe). The refined networks must cost no more flash, RAM and
latency than the unrefined one (the refinement budget); all accuracies are measured on the test
split with the float network, and the extra compute of refinement is timed.

    python benchmarks/refine_widths.py --run runs/unas-fmnist --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tinynas.data import load_dataset
from tinynas.devices import get_device
from tinynas.estimators import estimate
from tinynas.refine import Rates, RefineConfig, refine
from tinynas.store import RunStore
from tinynas.train import TrainConfig, evaluate, train


def _subset(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    pick = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[pick], y[pick]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-images", type=int, default=20_000)
    parser.add_argument("--search-epochs", type=float, default=2.0)
    parser.add_argument("--epochs", type=float, default=5.0, help="(re)training epochs")
    parser.add_argument("--alpha-rate", type=float, default=0.5, help="eta_a of the updates")
    parser.add_argument("--methods", nargs="+", default=["rarts", "darts1", "pdarts"],
                        choices=["rarts", "darts1", "pdarts"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/refine_widths.json"))
    args = parser.parse_args()
    with RunStore.open(args.run, writable=False) as store:
        chosen, config = store.chosen(), store.config()
    arch, device = chosen.architecture, get_device(config["device"])
    ds = load_dataset(config["dataset"], config.get("data_dir"))
    x_test, y_test = torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test)
    recipe = TrainConfig(epochs=args.epochs, flip=ds.name == "fashion-mnist")
    rows = []
    for seed in args.seeds:
        x, y = _subset(ds.x_train, ds.y_train, args.train_images, seed)
        base = train(arch, x, y, x[:0], y[:0], recipe, seed)
        row = {"seed": seed, "unrefined": {
            "test_accuracy": evaluate(base.net, x_test, y_test),
            "train_seconds": base.train_seconds, "estimate": estimate(arch, device).to_dict()}}
        for method in args.methods:
            t0 = time.perf_counter()
            config = RefineConfig(method=method, epochs=args.search_epochs, seed=seed,
                                  rates=Rates(weights=0.05, alpha=args.alpha_rate))
            result = refine(arch, x, y, device, config)
            search_s = time.perf_counter() - t0
            trained = train(result.refined, x, y, x[:0], y[:0], recipe, seed)
            row[method] = {
                "test_accuracy": evaluate(trained.net, x_test, y_test), "widths": result.widths,
                "narrowed": result.narrowed, "search_seconds": search_s,
                "train_seconds": trained.train_seconds, "estimate": result.estimate.to_dict(),
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"run": str(args.run), "architecture": arch.to_dict(),
                                    "args": {k: str(v) for k, v in vars(args).items()},
                                    "rows": rows}, indent=2))
    print("\n| method | test accuracy, mean over seeds | per seed | extra compute, s |")
    print("|---|---|---|---|")
    for method in ("unrefined", *args.methods):
        accs = [r[method]["test_accuracy"] for r in rows]
        extra = [r[method].get("search_seconds", 0.0) for r in rows]
        print(f"| {method} | {statistics.mean(accs):.2%} | "
              f"{', '.join(f'{a:.2%}' for a in accs)} | {statistics.mean(extra):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
