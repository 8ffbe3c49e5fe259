"""The summary of a validation (``summary.json``) and its Markdown table.

Every ranker is correlated with the measured first-run accuracy: the scored metrics, the
ensemble of the default members, and the learned ranker out of fold. Each is compared with the
baselines ``BASELINES`` on the same bootstrap resamples. A ranker *beats the baselines* when,
against every baseline that was validated, both hold:

- the paired 95 % bootstrap interval of tau(ranker) - tau(baseline) lies above zero, and
- the margin tau(ranker) - tau(baseline) is larger than the half-width of the ranker's own
  95 % tau interval.

A search trains only the top of its score order, so a ranker that orders a population well can
still send it bad networks (a high tau and poor top picks are both seen at this scale). Each
ranker's top picks are therefore measured too (``top_k``: the mean and best accuracy of its
best-scored tenth, and the regret, the best accuracy of all minus the best of its top picks).

``auto`` is what ``--metric auto`` resolves to, and the rule that decided it: the highest-tau
ranker a search can use (a registry metric or the learned ranker; not the ensemble) whose tau
beats both cost baselines, ``macs`` and ``params`` (paired 95 % bootstrap interval of the
difference above zero against each), and whose top picks are on mean accuracy at least as good
as theirs; when none does, the one of ``macs`` and ``params`` with the higher tau.

``best.metric`` is the highest-tau ranker that beats the baselines and whose top picks are, on
mean accuracy, at least as good as every baseline's, among those a search can use as they are
(``selectable``: registry metrics, not the learned ranker, which needs trained candidates, nor
the ensemble, which ranks a population); ``best_overall`` also considers those two. Either is
None when no ranker passes both tests.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from tinynas.proxies._ranker import (
    cross_validated,
    ensemble_column,
    learning_curve,
)
from tinynas.proxies._results import ArchResult
from tinynas.proxies._stats import (
    RESAMPLES,
    Correlation,
    bootstrap_taus,
    correlate,
    noise_ceiling,
    paired_difference,
)

SCHEMA = "tinynas.proxies/1"
BASELINES = ("params", "macs", "synflow", "naswot")
ENSEMBLE_MEMBERS = ("naswot", "relu_count", "params")  # tinynas.metrics' ensemble default
TABLE_HEADER = ("ranker", "cost", "tau", "95% CI", "rho", "tau/ceiling", "top-10% mean acc",
                "top-10% regret", "median ms/arch", "beats baselines")
COLLAPSE_FACTOR = 1.5  # accuracy below 1.5 / classes counts as a training collapse
TOP_FRACTION = 0.1  # the top picks: the best-scored tenth of the architectures (at least 5)


def _num(value: float | None) -> float | None:
    """A JSON number, or None where it is undefined."""
    return None if value is None or not math.isfinite(value) else float(value)


def _correlation(c: Correlation, ceiling: float | None) -> dict[str, Any]:
    ratio = c.tau / ceiling if ceiling and ceiling > 0 and math.isfinite(c.tau) else None
    return {"tau": _num(c.tau), "tau_ci": [_num(c.tau_low), _num(c.tau_high)],
            "rho": _num(c.rho), "pairs": c.pairs, "tau_over_ceiling": _num(ratio)}


def _columns(rows: Sequence[ArchResult], names: Sequence[str],
             ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Every ranker's scores and what the summary says about it apart from correlations."""
    from tinynas.metrics import METRICS

    columns, info = {}, {}
    for name in names:
        columns[name] = np.array([r.scores[name] for r in rows])
        cls = METRICS[name]
        info[name] = {"kind": "metric", "selectable": True, "cost": cls.cost,
                      "needs_data": cls.needs_data,
                      "failures": int(np.isnan(columns[name]).sum()),
                      "median_ms": _num(float(np.median([r.ms[name] for r in rows])))}
    members = [m for m in ENSEMBLE_MEMBERS if m in names]
    if len(members) >= 2:
        columns["ensemble"] = ensemble_column(columns, members)
        info["ensemble"] = {"kind": "ensemble", "selectable": False, "members": members,
                            "median_ms": _num(float(np.median(
                                [sum(r.ms[m] for m in members) for r in rows])))}
    return columns, info


def learned_proxies(columns: dict[str, np.ndarray], info: dict[str, dict[str, Any]],
                    accuracy: np.ndarray, seed: int) -> list[str]:
    """The trainingless metrics the learned ranker takes as features: those that build a
    network (its analytic features already hold params, MACs and the ReLU count) whose tau
    against the measured accuracy has a 95% bootstrap interval above zero."""
    candidates = {n: columns[n] for n, e in info.items()
                  if e["kind"] == "metric" and e["cost"] in ("forward", "backward")}
    if not candidates:
        return []
    boot = bootstrap_taus(candidates, accuracy, RESAMPLES, seed)
    return sorted(n for n, col in candidates.items()
                  if (c := correlate(col, accuracy, boot[n])).tau_low is not None
                  and math.isfinite(c.tau_low) and c.tau_low > 0)


def _learned(rows: Sequence[ArchResult], accuracy: np.ndarray, seed: int,
             columns: dict[str, np.ndarray], info: dict[str, dict[str, Any]]) -> None:
    """Adds the learned ranker's out-of-fold column and learning curve."""
    archs = [r.architecture for r in rows]
    proxies = learned_proxies(columns, info, accuracy, seed)
    scores = np.stack([columns[p] for p in proxies], axis=1) if proxies else None
    oof = cross_validated(archs, accuracy, seed=seed, proxies=proxies, proxy_scores=scores)
    if oof is None:
        return
    columns["learned"] = oof.predictions
    curve = learning_curve(archs, accuracy, seed=seed, proxies=proxies, proxy_scores=scores)
    info["learned"] = {
        "kind": "learned", "selectable": False, "proxies": proxies, "folds": oof.folds,
        "train_size": oof.train_size, "fit_seconds": oof.fit_seconds,
        "median_ms": _num(oof.predict_ms),
        "learning_curve": {str(k): _num(v) for k, v in curve.items()},
        "predictions": [float(v) for v in oof.predictions],  # out of fold, in row order
    }


def _compare(columns: dict[str, np.ndarray], accuracy: np.ndarray, seed: int,
             ceiling: float | None, info: dict[str, dict[str, Any]]) -> dict[str, Any]:
    boot = bootstrap_taus(columns, accuracy, RESAMPLES, seed)
    corr = {n: correlate(col, accuracy, boot[n]) for n, col in columns.items()}
    out = {}
    for name, c in corr.items():
        entry = {**info[name], **_correlation(c, ceiling), "vs_baselines": {}}
        beats = []
        for base in (b for b in BASELINES if b in columns and b != name):
            d = paired_difference(c.tau, corr[base].tau, boot[name], boot[base])
            wins = d.significant and d.delta > c.half_width
            entry["vs_baselines"][base] = {"delta": _num(d.delta),
                                           "delta_ci": [_num(d.low), _num(d.high)],
                                           "beats": wins}
            beats.append(wins)
        entry["beats_baselines"] = bool(beats) and all(beats)
        entry["top_k"] = top_picks(columns[name], accuracy)
        out[name] = entry
    return out


def top_picks(scores: np.ndarray, accuracy: np.ndarray) -> dict[str, Any]:
    """The accuracy of the best-scored tenth of the architectures (NaN scores rank last)."""
    k = min(len(scores), max(5, round(TOP_FRACTION * len(scores))))
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:k]
    top = accuracy[order]
    return {"k": int(k), "mean_accuracy": float(top.mean()), "best_accuracy": float(top.max()),
            "regret": float(accuracy.max() - top.max())}


def _good_top_picks(entry: dict[str, Any], metrics: dict[str, Any]) -> bool:
    bases = [metrics[b]["top_k"]["mean_accuracy"] for b in BASELINES if b in metrics]
    return all(entry["top_k"]["mean_accuracy"] >= b for b in bases)


def _best(metrics: dict[str, Any], selectable_only: bool) -> str | None:
    pool = [(e["tau"], n) for n, e in metrics.items() if e["beats_baselines"]
            and _good_top_picks(e, metrics)
            and e["tau"] is not None and (e["selectable"] or not selectable_only)]
    return max(pool)[1] if pool else None


AUTO_BASELINES = ("macs", "params")  # what a ranker must beat to be `auto`


def auto_choice(metrics: dict[str, Any]) -> dict[str, Any]:
    """``{"metric": name, "rule": why}``: the ranker `--metric auto` resolves to (module
    docstring), or ``{"metric": None, ...}`` when neither cost baseline was validated."""
    bases = [b for b in AUTO_BASELINES if b in metrics and metrics[b]["tau"] is not None]
    if not bases:
        return {"metric": None, "rule": "neither macs nor params was validated"}

    def passes(name: str, entry: dict[str, Any]) -> bool:
        if name in AUTO_BASELINES or name == "ensemble" or entry["tau"] is None:
            return False
        if not (entry["selectable"] or name == "learned"):
            return False
        against = [entry["vs_baselines"].get(b) for b in bases]
        above = all(d is not None and d["delta_ci"][0] is not None and d["delta_ci"][0] > 0
                    for d in against)  # fmt: skip
        top = all(entry["top_k"]["mean_accuracy"] >= metrics[b]["top_k"]["mean_accuracy"]
                  for b in bases)  # fmt: skip
        return above and top

    winners = sorted(((e["tau"], n) for n, e in metrics.items() if passes(n, e)), reverse=True)
    if winners:
        name = winners[0][1]
        return {"metric": name, "rule": f"{name} beats {' and '.join(bases)} on tau (paired "
                                        "95% CI above 0) and its top tenth is as good"}
    best = max(bases, key=lambda b: metrics[b]["tau"])
    return {"metric": best, "rule": f"no ranker beat {' and '.join(bases)} on tau (paired 95% "
                                    f"CI above 0) with a top tenth as good; {best} has the "
                                    "higher tau of the two"}


def _needed(metrics: dict[str, Any]) -> int | None:
    """The fewest trained architectures with which the learned ranker's tau beat the best
    scored metric's (learning curve, then the k-fold fit size)."""
    learned = metrics.get("learned")
    taus = [e["tau"] for e in metrics.values() if e["kind"] == "metric" and e["tau"] is not None]
    if learned is None or not taus:
        return None
    points = {int(k): v for k, v in learned["learning_curve"].items()}
    points.setdefault(learned["train_size"], learned["tau"])
    wins = [size for size, tau in sorted(points.items()) if tau is not None and tau > max(taus)]
    return wins[0] if wins else None


def _accuracy(rows: Sequence[ArchResult], num_classes: int) -> dict[str, Any]:
    acc = np.array([r.accuracy for r in rows])
    return {"source": "measured", "split": "validation images held out of the training set",
            "min": float(acc.min()), "median": float(np.median(acc)), "max": float(acc.max()),
            "collapsed": int((acc < COLLAPSE_FACTOR / num_classes).sum())}


def _ceiling(rows: Sequence[ArchResult], seed: int) -> Correlation | None:
    twice = [r for r in rows if r.accuracy_repeat is not None]
    if len(twice) < 2:
        return None
    repeats = [r.accuracy_repeat for r in twice if r.accuracy_repeat is not None]
    return noise_ceiling([r.accuracy for r in twice], repeats,
                         RESAMPLES, seed)


def _recipe(rows: Sequence[ArchResult], settings: dict[str, Any],
            images: dict[str, int]) -> dict[str, Any]:
    from tinynas.train import TrainConfig

    seconds = [r.train_seconds for r in rows]
    devices = sorted({r.train_device for r in rows})
    recipe = TrainConfig(epochs=settings["epochs"], warmup_epochs=settings["warmup_epochs"])
    return {**asdict(recipe),
            "train_images": images["train"], "val_images": images["validation"],
            "train_devices": devices,
            "cpu_threads": settings["cpu_threads"] if "cpu" in devices else None,
            "host": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "median_train_seconds": float(np.median(seconds)),
            "total_train_seconds": float(sum(seconds))}


def summarise(rows: Sequence[ArchResult], names: Sequence[str],
              context: dict[str, Any]) -> dict[str, Any]:
    """The summary of a validation's kept rows (module docstring); plain JSON data.

    Args:
        rows: The architectures, in order.
        names: The scored metrics.
        context: ``settings`` (the validation's config), ``num_classes``, ``budget`` and
            ``images`` (``train`` and ``validation`` image counts).
    """
    settings, seed = context["settings"], context["settings"]["seed"]
    accuracy = np.array([r.accuracy for r in rows])
    columns, info = _columns(rows, names)
    _learned(rows, accuracy, seed, columns, info)
    ceiling = _ceiling(rows, seed)
    ceiling_tau = ceiling.tau if ceiling is not None else None
    metrics = _compare(columns, accuracy, seed, ceiling_tau, info)
    if "learned" in metrics:
        metrics["learned"]["needed"] = _needed(metrics)
    return {
        "schema": SCHEMA, "dataset": settings["dataset"], "device": settings["device"],
        "budget": context["budget"], "settings": settings, "architectures": len(rows),
        "trainings": len(rows) + sum(r.accuracy_repeat is not None for r in rows),
        "recipe": _recipe(rows, settings, context["images"]),
        "accuracy": _accuracy(rows, context["num_classes"]),
        "noise_ceiling": None if ceiling is None else
        {**_correlation(ceiling, None), "source": "measured: tau between two trainings"},
        "metrics": metrics, "baselines": [b for b in BASELINES if b in names],
        "auto": auto_choice(metrics),
        "best": {"metric": _best(metrics, True)},
        "best_overall": {"metric": _best(metrics, False)},
        "provenance": {"scores": "predicted (trainingless, at initialisation)",
                       "accuracy": "measured", "estimates": "estimated",
                       "latency_ms": "predicted", "ms": "measured on this host"},
    }  # fmt: skip


def _cell(value: float | None, fmt: str = "{:+.3f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def headline(summary: dict[str, Any]) -> str:
    """One paragraph: what was validated, how it was trained, and the noise ceiling."""
    r, budget = summary["recipe"], summary["budget"]
    return (
        f"{summary['architectures']} architectures of {summary['dataset']} that fit "
        f"{summary['device']} (flash <= {budget['flash_bytes']:,} B, RAM <= "
        f"{budget['ram_bytes']:,} B), each trained {_epochs(r['epochs'])} on "
        f"{r['train_images']:,} images ({'/'.join(r['train_devices'])}, median "
        f"{r['median_train_seconds']:.1f} s per training); accuracy measured on "
        f"{r['val_images']:,} held-out images. {_ceiling_text(summary.get('noise_ceiling'))}"
    )


def markdown_table(summary: dict[str, Any]) -> str:
    """The headline and the per-ranker table, highest tau first, for docs/benchmarks.md."""
    lines = [headline(summary), "", "| " + " | ".join(TABLE_HEADER) + " |",
             "|" + "---|" * len(TABLE_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summary)]
    return "\n".join(lines)


def table_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row of ``TABLE_HEADER`` cells per ranker, highest tau first."""
    order = sorted(summary["metrics"].items(),
                   key=lambda kv: math.inf if kv[1]["tau"] is None else -kv[1]["tau"])
    return [
        (name, e.get("cost", e["kind"]), _cell(e["tau"]), _interval(e["tau_ci"]),
         _cell(e["rho"]), _cell(e["tau_over_ceiling"], "{:.2f}"),
         _cell(e["top_k"]["mean_accuracy"], "{:.1%}"), _cell(e["top_k"]["regret"], "{:.1%}"),
         _cell(e["median_ms"], "{:.3g}"), "yes" if e["beats_baselines"] else "no")
        for name, e in order
    ]


def _epochs(epochs: float) -> str:
    return f"{epochs:g} epoch" + ("" if epochs == 1 else "s")


def _ceiling_text(ceiling: dict[str, Any] | None) -> str:
    if not ceiling:
        return "No noise ceiling: no architecture was trained twice."
    return (f"Noise ceiling (two trainings, different seeds): tau = {_cell(ceiling['tau'])} "
            f"{_interval(ceiling['tau_ci'])} over {ceiling['pairs']} architectures.")


def _interval(ci: Sequence[float | None] | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "n/a"
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"
