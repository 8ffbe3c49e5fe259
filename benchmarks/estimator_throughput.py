"""Estimator throughput: architectures per second through `estimate()` on one core.

Times params, MACs, flash, TFLM arena plan, μNAS peak and the latency prediction together, on
architectures sampled beforehand (sampling is not timed). Best of several repeats.

    python benchmarks/estimator_throughput.py [--count 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time

from tinynas.devices import get_device
from tinynas.estimators import estimate
from tinynas.space import SpaceConfig, sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    device = get_device("nucleo-l4r5zi")
    rng = random.Random(0)
    shapes = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (640,)]
    archs = [sample(shapes[k % 4], 10, rng, SpaceConfig(max_blocks=6, max_filters=64))
             for k in range(args.count)]
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for arch in archs:
            estimate(arch, device)
        rates.append(args.count / (time.perf_counter() - t0))
    print(json.dumps({
        "architectures": args.count, "best_per_s": round(max(rates)),
        "median_per_s": round(sorted(rates)[len(rates) // 2]),
        "with_branches": sum(any(b.parallel for b in a.blocks) for a in archs),
        "machine": f"{platform.machine()} python {platform.python_version()}, 1 core",
    }, indent=2))


if __name__ == "__main__":
    main()
