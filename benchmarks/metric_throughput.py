"""Metric throughput: architectures per second of relu_count, params, macs and naswot.

The analytic metrics (relu_count, params, macs) score architectures sampled from the default
space for 28x28x1 inputs and 10 classes; naswot scores those under 5 M MACs on a batch of 64
Fashion-MNIST training images (the metrics run torch on one thread). Sampling and estimating
are not timed. Each rate is the best of several repeats, measured on this host.

    python benchmarks/metric_throughput.py [--count 2000] [--naswot-count 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from collections.abc import Sequence

import numpy as np

from tinynas.estimators import macs
from tinynas.metrics import BaseMetric, get_metric
from tinynas.space import Architecture, sample

INPUT_SHAPE = (28, 28, 1)
NASWOT_MAX_MACS = 5_000_000
BATCH = 64
TARGETS = {"relu_count": 2000, "params": 2000, "macs": 2000, "naswot": 20}  # arch/s wanted


def _archs(count: int, seed: int, max_macs: int | None = None) -> list[Architecture]:
    rng, out = random.Random(seed), []
    while len(out) < count:
        arch = sample(INPUT_SHAPE, 10, rng)
        if max_macs is None or macs(arch) < max_macs:
            out.append(arch)
    return out


def _batch() -> tuple[np.ndarray, np.ndarray]:
    from tinynas.data import load_dataset

    ds = load_dataset("fashion-mnist")
    pick = np.random.default_rng(0).choice(len(ds.y_train), BATCH, replace=False)
    return ds.x_train[pick], ds.y_train[pick]


def _rate(metric: BaseMetric, archs: Sequence[Architecture],
          batch: tuple[np.ndarray, np.ndarray] | None, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for arch in archs:
            metric.score(arch, batch, 0)
        rates.append(len(archs) / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--naswot-count", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    analytic = _archs(args.count, seed=0)
    small = _archs(args.naswot_count, seed=1, max_macs=NASWOT_MAX_MACS)
    batch = _batch()
    get_metric("naswot").score(small[0], batch, 0)  # torch's first call is not timed
    results = {}
    for name in TARGETS:
        archs, data = (small, batch) if name == "naswot" else (analytic, None)
        rates = _rate(get_metric(name), archs, data, args.repeats)
        results[name] = {"architectures": len(archs), "best_per_s": round(max(rates), 1),
                         "median_per_s": round(sorted(rates)[len(rates) // 2], 1),
                         "target_per_s": TARGETS[name],
                         "meets_target": max(rates) >= TARGETS[name]}
    results["host"] = {"machine": f"{platform.machine()} python {platform.python_version()}",
                       "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count(),
                       "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg")
                       else None,
                       "naswot": f"batch {BATCH}, nets under {NASWOT_MAX_MACS:,} MACs"}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
