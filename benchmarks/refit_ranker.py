"""Does the learned ranker gain from the trainings a search makes? A replay on kept data.

A search trains its shortlist; each training is a label the learned ranker could refit on
before it ranks the candidates not trained yet. This replays that on a full-budget proxy
validation with learning curves (results.csv): for each of DRAWS seeded draws, SHORTLIST of its
architectures play the shortlist, labelled with their accuracy after the first epoch (the
stand-in for the first halving rung: one epoch on all training images, though at the learning
rate of epoch 1 of 10, not the end of a rung's own schedule); the rest play the untrained
candidates, judged by their accuracy after the last epoch. Rankers:

- ``warm``: the learned ranker as a search fits it on a kept validation: by default the rows of
  the same results.csv that have no learning curve (trained before curves were kept, so
  disjoint from the replay's architectures), or another results.csv (``--warm``);
- ``refit``: the same plus the shortlist's labels, each given ``--weight`` copies;
- ``run only``: fitted on the shortlist's labels alone;
- ``params`` and ``macs``: the cost baselines.

Printed: the mean Kendall tau over draws against the final accuracy of the untrained rest,
and the mean final accuracy of each ranker's top tenth of them.

    python benchmarks/refit_ranker.py \\
        --results benchmarks/data/proxy-validation-fashion-mnist-final/results.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from tinynas.estimators import estimate
from tinynas.metrics import get_metric
from tinynas.space import Architecture

SHORTLIST = 8
DRAWS = 40


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _top_tenth(scores: np.ndarray, final: np.ndarray) -> float:
    k = max(5, round(0.1 * len(scores)))
    return float(final[np.argsort(-scores, kind="stable")[:k]].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--warm", type=Path, default=None)
    parser.add_argument("--weight", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    every = _rows(args.results)
    rows = [r for r in every if r.get("accuracy_curve")]
    if len(rows) < 4 * SHORTLIST:
        print(f"{len(rows)} rows with a learning curve; need at least {4 * SHORTLIST}",
              file=sys.stderr)
        return 1
    archs = [Architecture.from_json(r["architecture"]) for r in rows]
    first = np.array([float(r["accuracy_curve"].split(";")[0]) for r in rows])
    final = np.array([float(r["accuracy"]) for r in rows])
    warm_rows = _rows(args.warm) if args.warm else [r for r in every
                                                     if not r.get("accuracy_curve")]
    warm_archs = [Architecture.from_json(r["architecture"]) for r in warm_rows]
    warm_acc = [float(r["accuracy"]) for r in warm_rows]
    warm = get_metric("learned").fit(warm_archs, warm_acc)  # type: ignore[attr-defined]
    warm_scores = np.array(warm.score_population(archs))
    cost = {"params": np.array([estimate(a).params for a in archs], dtype=float),
            "macs": np.array([estimate(a).macs for a in archs], dtype=float)}
    rng = np.random.default_rng(args.seed)
    taus: dict[str, list[float]] = {}
    tops: dict[str, list[float]] = {}
    for _ in range(DRAWS):
        picked = rng.choice(len(archs), SHORTLIST, replace=False)
        rest = np.setdiff1d(np.arange(len(archs)), picked)
        labelled = [archs[i] for i in picked]
        refit = get_metric("learned").fit(  # type: ignore[attr-defined]
            warm_archs + labelled * args.weight,
            warm_acc + [float(first[i]) for i in picked] * args.weight)
        alone = get_metric("learned").fit(labelled, first[picked])  # type: ignore[attr-defined]
        rest_archs = [archs[i] for i in rest]
        scores = {"warm": warm_scores[rest],
                  "refit": np.array(refit.score_population(rest_archs)),
                  "run only": np.array(alone.score_population(rest_archs)),
                  "params": cost["params"][rest], "macs": cost["macs"][rest]}
        for name, s in scores.items():
            taus.setdefault(name, []).append(kendalltau(s, final[rest]).statistic)
            tops.setdefault(name, []).append(_top_tenth(s, final[rest]))
    print(f"{len(archs)} architectures with learning curves; {DRAWS} draws of a shortlist of "
          f"{SHORTLIST} labelled after epoch 1 (refit weight {args.weight})")
    print("| ranker | mean tau vs final accuracy (untrained rest) | top-tenth mean final acc |")
    print("|---|---:|---:|")
    for name in taus:
        print(f"| {name} | {np.mean(taus[name]):+.3f} (sd {np.std(taus[name]):.3f}) | "
              f"{np.mean(tops[name]):.2%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
