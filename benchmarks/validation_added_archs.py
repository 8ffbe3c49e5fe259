"""Architectures the Fashion-MNIST validation's own sampler never draws, to add to it.

The shipped validation's 200 architectures are seeded samples of the μNAS space with global
average pooling switched off (its default), so two kinds of network a search meets were never
trained in it: the regular space that capacity picks and the supernet come from
(`tinynas.space.sample_regular`), and networks that end in global average pooling. This writes
seeded samples of both that fit the validation's budget (nucleo-l4r5zi, TFLM arena <= 64 KiB,
predicted latency <= 60 ms), as JSON Lines, for `proxies validate --add-archs`:

    python benchmarks/validation_added_archs.py --regular 24 --global-pooling 16 \\
        --out benchmarks/archs/validation-added-fashion-mnist.jsonl
    tinynas proxies validate --dataset fashion-mnist --device nucleo-l4r5zi --max-ram 64KiB \\
        --max-latency 60 --samples 200 --workers 2 --resume \\
        --add-archs benchmarks/archs/validation-added-fashion-mnist.jsonl \\
        --out benchmarks/data/proxy-validation-fashion-mnist-final
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from tinynas.devices import get_device
from tinynas.estimators import Budget
from tinynas.search import sample_fitting
from tinynas.space import SpaceConfig, sample, sample_regular

INPUT_SHAPE, CLASSES = (28, 28, 1), 10  # Fashion-MNIST
TRIES_PER_ARCH = 500
# every pooling a global one, and every architecture pooled
GLOBAL_POOLING = SpaceConfig(p_pooling=1.0, p_global_pooling=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regular", type=int, default=24, help="regular-space architectures")
    parser.add_argument("--global-pooling", type=int, default=16,
                        help="μNAS-space architectures ending in global average pooling")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; choose another --out (it may be in use)")
    device = get_device("nucleo-l4r5zi")
    budget = Budget.for_device(device, None, 64 * 1024, 60.0)
    regular = sample_fitting(lambda r: sample_regular(INPUT_SHAPE, CLASSES, r),
                             random.Random(args.seed), device, budget,
                             tries=TRIES_PER_ARCH * args.regular, count=args.regular)
    pooled = sample_fitting(lambda r: sample(INPUT_SHAPE, CLASSES, r, GLOBAL_POOLING),
                            random.Random(args.seed + 1), device, budget,
                            tries=TRIES_PER_ARCH * args.global_pooling,
                            count=args.global_pooling)
    found = regular + pooled
    if len(regular) < args.regular or len(pooled) < args.global_pooling:
        raise SystemExit(f"only {len(regular)} regular and {len(pooled)} globally pooled "
                         "architectures fit; ask for fewer")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(arch.to_json(indent=None) + "\n" for arch, _ in found))
    macs = sorted(est.macs for _, est in found)
    print(f"{len(found)} architectures -> {args.out} (MACs {macs[0]:,} to {macs[-1]:,}, "
          f"median {macs[len(macs) // 2]:,})")


if __name__ == "__main__":
    main()
