"""Halving trainings per hour on each executor: this process, 1 and 2 local worker processes,
and a local Ray with 2 CPUs; and each backend's overhead per job.

The jobs are what a successive-halving rung runs: architectures sampled from the default space
that fit the board (seeded), each trained for `--epochs` on a seeded subset of Fashion-MNIST's
training images with the search's recipe, validated on a tenth held out. Every backend trains
the same jobs; a job's own training time is what `train` measures inside it, so

    overhead per job = wall * parallel jobs / jobs - mean training time

is what the backend adds around a training (start-up, shipping data and weights, scheduling).

    python benchmarks/executor_throughput.py [--jobs 8] [--epochs 1] [--train-images 6000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from datetime import date
from typing import Any

import numpy as np

from tinynas.data import SplitData, load_dataset
from tinynas.devices import get_device
from tinynas.estimators import Budget, estimate
from tinynas.executor import Executor, InlineExecutor, ProcessExecutor, TrainJob
from tinynas.space import sample
from tinynas.train import recipe_for


def _jobs(count: int, epochs: float, seed: int) -> list[TrainJob]:
    board = get_device("stm32")
    budget = Budget.for_device(board)
    rng, jobs = random.Random(seed), []
    config = recipe_for("fashion-mnist", epochs)
    while len(jobs) < count:
        arch = sample((28, 28, 1), 10, rng)
        if not budget.violations(estimate(arch, board)):
            # no retraining of a run that collapsed to chance: every job is one training
            jobs.append(TrainJob((len(jobs), "halving-0"), arch.to_json(), config, seed,
                                 reseed_collapsed=False))  # fmt: skip
    return jobs


def _data(train_images: int, seed: int) -> SplitData:
    ds = load_dataset("fashion-mnist")
    pick = np.random.default_rng(seed).permutation(len(ds.y_train))[:train_images]
    n_val = train_images // 10
    return SplitData(ds.x_train[pick[n_val:]], ds.y_train[pick[n_val:]],
                     ds.x_train[pick[:n_val]], ds.y_train[pick[:n_val]], 10)  # fmt: skip


def _measure(name: str, executor: Executor, jobs: list[TrainJob], data: SplitData
             ) -> dict[str, Any]:  # fmt: skip
    started = time.perf_counter()
    outcomes = list(executor.run(jobs, data))
    wall = time.perf_counter() - started
    executor.close()
    failed = [o.error for o in outcomes if o.failed]
    assert not failed, failed
    train_s = float(np.mean([o.train_seconds for o in outcomes]))
    parallel = min(executor.workers, len(jobs))
    return {"backend": name, "describe": executor.describe(), "jobs": len(jobs),
            "wall_s": round(wall, 2), "trainings_per_hour": round(3600 * len(jobs) / wall),
            "mean_train_s": round(train_s, 2),
            "overhead_per_job_s": round(wall * parallel / len(jobs) - train_s, 2),
            "accuracies": sorted(round(float(o.val_accuracy or 0), 4) for o in outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--out", default="benchmarks/out/executor_throughput.json")
    args = parser.parse_args()

    jobs, data = _jobs(args.jobs, args.epochs, args.seed), _data(args.train_images, args.seed)
    cpus = os.cpu_count() or 1
    one_thread = [TrainJob(j.key, j.arch_json, j.config, j.seed, reseed_collapsed=False,
                           threads=1) for j in jobs]  # fmt: skip
    backends: list[tuple[str, Any, list[TrainJob]]] = [
        ("this process", InlineExecutor, jobs),
        ("this process, 1 thread", InlineExecutor, one_thread),
        ("1 worker process", lambda: ProcessExecutor(1), jobs),
        ("1 worker process, 1 thread", lambda: ProcessExecutor(1), one_thread),
        ("2 worker processes", lambda: ProcessExecutor(2), jobs),
    ]
    if not args.no_ray:
        from tinynas.executor._ray import RayExecutor

        backends.append(("ray, 2 CPUs", lambda: RayExecutor(num_cpus=2), jobs))
    rows = []
    for name, make, todo in backends:
        rows.append(_measure(name, make(), todo, data))
        print(json.dumps(rows[-1]))
    rate = {r["backend"]: r["trainings_per_hour"] for r in rows}
    result = {
        "benchmark": "executor_throughput", "date": date.today().isoformat(),
        "machine": f"{cpus} CPUs, {platform.machine()}, Python {platform.python_version()}",
        "command": "python benchmarks/executor_throughput.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k not in ("out", "no_ray")),
        "rows": rows,
        "speedup_2_vs_1_workers": round(rate["2 worker processes"] / rate["1 worker process"], 2),
        "speedup_2_vs_1_workers_1_thread": round(
            rate["2 worker processes"] / rate["1 worker process, 1 thread"], 2),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(f"2 workers / 1 worker: {result['speedup_2_vs_1_workers']}x; wrote {args.out}")


if __name__ == "__main__":
    main()
