"""New rankers on a kept proxy validation, without training anything again.

Scores the kept validation's architectures (its results.csv: architectures and their measured
accuracies) with the given metrics on the batch that validation scored on (same dataset, seed
and batch size), and prints per ranker the signed Kendall tau against the measured accuracy,
its 95 % bootstrap interval, the paired difference to params and to macs (same resamples), and
the mean accuracy of its best-scored tenth; the kept metrics' columns are read as they are.

    python benchmarks/rescore_validation.py --metrics zico \
        [--validation tinynas/_validations/fashion-mnist]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from tinynas.data import load_dataset
from tinynas.metrics import get_metric
from tinynas.proxies import ValidationConfig, score_all
from tinynas.proxies._stats import RESAMPLES, bootstrap_taus, correlate, paired_difference
from tinynas.proxies._summary import top_picks
from tinynas.proxies._validate import split_data
from tinynas.space import Architecture

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ("params", "macs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", type=Path,
                        default=ROOT / "tinynas" / "_validations" / "fashion-mnist")
    parser.add_argument("--metrics", required=True, help="comma-separated new metrics")
    parser.add_argument("--also", default="snip,synflow,naswot,zen",
                        help="kept metrics to show beside them")
    args = parser.parse_args(argv)
    summary = json.loads((args.validation / "summary.json").read_text())
    settings = summary["settings"]
    with (args.validation / "results.csv").open(newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    archs = [Architecture.from_json(r["architecture"]) for r in rows]
    accuracy = np.array([float(r["accuracy"]) for r in rows])
    config = ValidationConfig(dataset=settings["dataset"], seed=settings["seed"],
                              metric_batch=settings["metric_batch"],
                              train_images=settings["train_images"],
                              val_images=settings.get("val_images"))  # fmt: skip
    batch = split_data(load_dataset(config.dataset), config).batch
    new = [n.strip() for n in args.metrics.split(",") if n.strip()]
    metrics = {n: get_metric(n) for n in new}
    columns = {n: np.full(len(archs), np.nan) for n in new}
    for i, arch in enumerate(archs):
        scores, _ = score_all(metrics, arch, batch, config.seed)
        for n in new:
            columns[n][i] = scores[n]
    kept = [*BASELINES, *(n.strip() for n in args.also.split(",") if n.strip())]
    for n in kept:
        columns[n] = np.array([float(r[f"score:{n}"]) for r in rows])
    boot = bootstrap_taus(columns, accuracy, RESAMPLES, config.seed)
    corr = {n: correlate(c, accuracy, boot[n]) for n, c in columns.items()}
    print(f"{len(archs)} architectures of {args.validation.name}, accuracy measured after "
          f"{settings['epochs']} epochs on {settings['train_images']} images")
    print("| ranker | tau | 95% CI | vs params | vs macs | top-10% mean acc |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in [*new, *kept]:
        c = corr[n]
        vs = []
        for base in BASELINES:
            d = paired_difference(c.tau, corr[base].tau, boot[n], boot[base])
            vs.append(f"{d.delta:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" if n != base else "-")
        top = top_picks(columns[n], accuracy)["mean_accuracy"]
        print(f"| {n} | {c.tau:+.3f} | [{c.tau_low:+.3f}, {c.tau_high:+.3f}] | {vs[0]} | "
              f"{vs[1]} | {100 * top:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
