"""Does a sub-network's accuracy with weights inherited from a trained supernet rank the
accuracy it reaches when trained on its own? The `supernet` ranker's validation.

Three steps, each resumable, run in order:

    python benchmarks/supernet_ranker.py train        # the supernet, checkpointed per epoch
    python benchmarks/supernet_ranker.py score        # N seeded sub-networks, inherited accuracy
    tinynas proxies validate --dataset fashion-mnist --archs DATA/subnets.jsonl \\
        --metrics params,macs,naswot --repeats 20 --workers 2 --out DATA/standalone [--resume]
    python benchmarks/supernet_ranker.py tau          # the ranker against stand-alone training

The supernet trains on the validation's training images (54,000 of Fashion-MNIST's 60,000;
`tinynas.proxies.split_data`, seed 0) by progressive shrinking (`tinynas.supernet`), and both
the inherited accuracy (batch norm recalibrated on 2,000 training images) and the stand-alone
accuracy (10 epochs, the search's final recipe, from scratch) are measured on the same 6,000
held-out images. `tau` prints Kendall's tau of the inherited accuracy against the stand-alone
one with its bootstrap interval, the noise ceiling of stand-alone training (the sub-networks
trained twice), and the same for params and macs on the same sub-networks, with paired
intervals. DATA is benchmarks/data/supernet-fashion-mnist (committed: the sub-networks, their
inherited accuracies, the stand-alone validation); the checkpoint stays in
benchmarks/out/supernet-fashion-mnist.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "supernet-fashion-mnist"
OUT = ROOT / "benchmarks" / "out" / "supernet-fashion-mnist"
# a supernet a 2-core CPU trains in well under an hour: 3 stages of full 3x3/5x5 convolutions,
# 1-3 layers each, 4-12, 8-24 and 16-32 channels (largest 16 M MACs)
WIDTHS = ((4, 8, 12), (8, 16, 24), (16, 24, 32))
KERNELS = (3, 5)


def _space():  # type: ignore[no-untyped-def]
    from tinynas.supernet import SupernetSpace

    return SupernetSpace((28, 28, 1), 10, widths=WIDTHS, kernels=KERNELS)


def _split():  # type: ignore[no-untyped-def]
    from tinynas.data import load_dataset
    from tinynas.proxies import ValidationConfig, split_data

    return split_data(load_dataset("fashion-mnist"), ValidationConfig("fashion-mnist"))


def _supernet(epochs_per_phase: float, train: bool):  # type: ignore[no-untyped-def]
    from tinynas.supernet import SupernetRecipe, train_supernet

    OUT.mkdir(parents=True, exist_ok=True)
    split = _split()
    recipe = SupernetRecipe(epochs_per_phase=epochs_per_phase)

    def say(phase: str, epoch: int, seconds: float) -> None:
        print(f"{phase} epoch {epoch + 1}: {seconds:.0f} s", flush=True)

    start = time.perf_counter()
    net = train_supernet(_space(), split.x_train, split.y_train, recipe,
                         checkpoint=OUT / "supernet.pt", on_epoch=say if train else None)
    if train:
        DATA.mkdir(parents=True, exist_ok=True)
        (DATA / "supernet.json").write_text(json.dumps({
            "widths": WIDTHS, "kernels": KERNELS, "recipe": recipe.__dict__,
            "train_images": len(split.x_train), "last_sitting_s": time.perf_counter() - start,
        }, indent=2) + "\n")
    return net, split


def score(count: int, epochs_per_phase: float) -> None:
    """Inherited accuracy of `count` distinct seeded sub-networks (resumes: rows kept)."""
    from tinynas.supernet import inherited_accuracy, sample_config, subnet_architecture

    net, split = _supernet(epochs_per_phase, train=False)
    space = _space()
    rng = random.Random(0)
    configs: list = []
    while len(configs) < count:
        config = sample_config(space, "width", rng)
        if config not in configs:
            configs.append(config)
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / "inherited.csv"
    kept = {}
    if path.exists():
        with path.open(newline="") as f:
            kept = {row["arch_hash"]: row for row in csv.DictReader(f)}
    archs = [subnet_architecture(space, c) for c in configs]
    (DATA / "subnets.jsonl").write_text("".join(a.to_json(indent=None) + "\n" for a in archs))
    with path.open("a", newline="") as f:
        writer = csv.writer(f)
        if not kept:
            writer.writerow(["line", "arch_hash", "depths", "widths", "kernels",
                             "inherited_accuracy", "seconds"])
        for line, (config, arch) in enumerate(zip(configs, archs), start=1):
            if arch.content_hash in kept:
                continue
            clock = time.perf_counter()
            accuracy = inherited_accuracy(net, config, split.x_train, split.x_val, split.y_val)
            writer.writerow([line, arch.content_hash, json.dumps(config.depths),
                             json.dumps(config.widths), json.dumps(config.kernels),
                             f"{accuracy:.6f}", f"{time.perf_counter() - clock:.2f}"])
            f.flush()
            print(f"{line}/{count}: inherited {accuracy:.4f}", flush=True)


def tau(standalone: Path) -> int:
    """The ranker's tau against the stand-alone validation in `standalone`."""
    from tinynas.proxies import bootstrap_taus, correlate, noise_ceiling, paired_difference

    with (DATA / "inherited.csv").open(newline="") as f:
        inherited = {row["arch_hash"]: float(row["inherited_accuracy"])
                     for row in csv.DictReader(f)}
    with (standalone / "results.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["arch_hash"] in inherited]
    if len(rows) < 3:
        print(f"only {len(rows)} sub-networks trained stand-alone so far", file=sys.stderr)
        return 1
    acc = np.array([float(r["accuracy"]) for r in rows])
    columns = {"supernet (inherited accuracy)": np.array([inherited[r["arch_hash"]]
                                                          for r in rows]),
               "params": np.array([float(r["params"]) for r in rows]),
               "macs": np.array([float(r["macs"]) for r in rows]),
               "naswot": np.array([float(r["score:naswot"]) for r in rows])}
    boot = bootstrap_taus(columns, acc)
    twice = [r for r in rows if r.get("accuracy_repeat")]
    ceiling = noise_ceiling([float(r["accuracy"]) for r in twice],
                            [float(r["accuracy_repeat"]) for r in twice]) if len(twice) > 2 \
        else None
    print(f"{len(rows)} sub-networks trained stand-alone; "
          + (f"noise ceiling tau {ceiling.tau:+.3f} [{ceiling.tau_low:+.3f}, "
             f"{ceiling.tau_high:+.3f}] over {len(twice)}" if ceiling else "no noise ceiling"))
    print("| ranker | Kendall tau | 95% CI | tau / ceiling | supernet minus it, paired 95% CI |")
    print("|---|---:|---:|---:|---:|")
    first = next(iter(columns))
    ours = correlate(columns[first], acc, boot[first])
    for name, column in columns.items():
        c = correlate(column, acc, boot[name])
        share = f"{c.tau / ceiling.tau:.2f}" if ceiling else "-"
        diff = "-"
        if name != first:
            d = paired_difference(ours.tau, c.tau, boot[first], boot[name])
            diff = f"{d.delta:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
        print(f"| {name} | {c.tau:+.3f} | [{c.tau_low:+.3f}, {c.tau_high:+.3f}] | {share} | "
              f"{diff} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("train", "score", "tau"))
    parser.add_argument("--epochs-per-phase", type=float, default=3.0)
    parser.add_argument("--subnets", type=int, default=60)
    parser.add_argument("--standalone", type=Path, default=DATA / "standalone")
    args = parser.parse_args()
    if args.step == "train":
        _supernet(args.epochs_per_phase, train=True)
        return 0
    if args.step == "score":
        score(args.subnets, args.epochs_per_phase)
        return 0
    return tau(args.standalone)


if __name__ == "__main__":
    sys.exit(main())
