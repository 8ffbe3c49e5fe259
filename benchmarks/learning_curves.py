"""What the first epochs of a training say about its end: raw accuracy after k epochs against
the accuracy extrapolated from the learning curve so far, as rankers of the final accuracy.

Reads a proxy validation's results.csv (the rows whose first training kept its learning curve:
the accuracy on the validation images after each epoch) and prints, for k = 1, 2, 3, 5:

- the Kendall tau of each rule against the accuracy after the last epoch;
- successive halving's choice, simulated: shortlists of 8 drawn at random (seeded), the
  candidate each rule ranks first, and its regret (the best final accuracy of the shortlist
  minus the chosen one's), with how often the rule chose the best.

Rules: ``raw`` (the accuracy after k epochs), ``power`` (a power law a - b * t^-c fitted to the
k points by least squares, evaluated at the last epoch; Domhan et al., IJCAI 2015, use it as
one of their curve families; with two points c is fixed at 0.5, with one the rule is raw),
``last2`` (the straight line through the last two points, evaluated at the last epoch).

The curves come from one cosine learning-rate schedule over all the epochs, so the point
after epoch k is taken at a high learning rate, unlike a halving rung, which ends its own
schedule; this is a stand-in for the rungs, and says so where it is reported.

    python benchmarks/learning_curves.py \\
        --results benchmarks/data/proxy-validation-fashion-mnist-final/results.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.stats import kendalltau

SHORTLIST = 8
DRAWS = 5000
POINTS = (1, 2, 3, 5)


def power_at(points: np.ndarray, t_end: float) -> float:
    """The power law a - b * t^-c through `points` (accuracy after epochs 1..k) at t_end."""
    k = len(points)
    t = np.arange(1, k + 1, dtype=np.float64)
    if k == 1:
        return float(points[0])
    if k == 2:  # two points fix a and b for c = 0.5
        x = t ** -0.5
        b = (points[0] - points[1]) / (x[0] - x[1])
        a = points[1] + b * x[1]
        return float(a - b * t_end ** -0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)  # few points: no covariance
            (a, b, c), _ = curve_fit(lambda t, a, b, c: a - b * t ** -c, t, points,
                                     p0=(points[-1], points[-1] - points[0], 0.5),
                                     bounds=((0, -1, 0.01), (1, 2, 5)), maxfev=5000)
    except RuntimeError:  # no fit: the last point
        return float(points[-1])
    return float(a - b * t_end ** -c)


def last2_at(points: np.ndarray, t_end: float) -> float:
    if len(points) == 1:
        return float(points[0])
    slope = points[-1] - points[-2]
    return float(points[-1] + slope * (t_end - len(points)))


RULES = {"raw": lambda p, end: float(p[-1]), "power": power_at, "last2": last2_at}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with args.results.open(newline="") as f:
        curves = [np.array([float(a) for a in r["accuracy_curve"].split(";")])
                  for r in csv.DictReader(f) if r.get("accuracy_curve")]
    if len(curves) < SHORTLIST:
        print(f"{len(curves)} rows with a learning curve; need at least {SHORTLIST}",
              file=sys.stderr)
        return 1
    epochs = len(curves[0])
    final = np.array([c[-1] for c in curves])
    rng = np.random.default_rng(args.seed)
    draws = [rng.choice(len(curves), SHORTLIST, replace=False) for _ in range(DRAWS)]
    print(f"{len(curves)} learning curves of {epochs} epochs; shortlists of {SHORTLIST}, "
          f"{DRAWS} draws")
    print("| after epochs | rule | Kendall tau vs final | mean regret, points | chose the best |")
    print("|---:|---|---:|---:|---:|")
    for k in POINTS:
        for name, rule in RULES.items():
            if k == 1 and name != "raw":
                continue
            score = np.array([rule(c[:k], float(epochs)) for c in curves])
            tau = kendalltau(score, final).statistic
            regret, best = [], 0
            for d in draws:
                chosen = d[int(np.argmax(score[d]))]
                regret.append(final[d].max() - final[chosen])
                best += final[chosen] == final[d].max()
            print(f"| {k} | {name} | {tau:+.3f} | {100 * np.mean(regret):.2f} | "
                  f"{best / DRAWS:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
