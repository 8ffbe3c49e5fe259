"""Proxy validation: measure which trainingless metric ranks networks best on the user's data.

``validate_proxies`` samples architectures that fit a board, scores each with every metric,
trains each briefly with one fixed recipe, and reports the signed Kendall tau and Spearman rho
of every metric against the measured accuracy, against the noise ceiling of training itself.
Its results are kept (``runs/proxies/<dataset>/`` by default), and
``best_validated_metric`` reads them back for ``tinynas search --metric auto``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinynas.proxies._plots import Panel, draw_scatter_grid, scatter_info
from tinynas.proxies._ranker import cross_validated, ensemble_column, learning_curve
from tinynas.proxies._results import (
    ENV_VAR,
    ArchResult,
    ProxyValidationError,
    ResultsFile,
    default_out,
    find_summary,
    proxies_root,
    read_json,
)
from tinynas.proxies._stats import (
    Correlation,
    Difference,
    bootstrap_taus,
    correlate,
    interval,
    kendall_tau,
    noise_ceiling,
    paired_difference,
    spearman_rho,
)
from tinynas.proxies._summary import (
    BASELINES,
    TABLE_HEADER,
    headline,
    markdown_table,
    summarise,
    table_rows,
    top_picks,
)
from tinynas.proxies._validate import (
    ValidationConfig,
    default_metrics,
    score_all,
    split_data,
    validate_proxies,
    validation_architectures,
)
from tinynas.space import Architecture


def best_validated_metric(dataset_name: str, root: str | Path | None = None) -> str | None:
    """The metric a search should use on `dataset_name`, from a kept validation.

    It is the validation's ``best.metric``: the registry metric with the highest tau whose
    advantage over the baselines (params, macs, synflow, naswot) is significant and whose top
    picks are as good as theirs (see ``tinynas.proxies._summary``). None when no validation of
    this dataset is kept or when no metric passed.

    Args:
        dataset_name: The dataset's name (``Dataset.name``, e.g. ``"fashion-mnist"``).
        root: Where kept validations are (default ``$TINYNAS_PROXIES_DIR``, else
            ``runs/proxies``): ``<root>/<dataset>/summary.json``, or ``<root>/summary.json``
            when that one is of this dataset.

    Raises:
        ProxyValidationError: The kept summary cannot be read.
    """
    return _chosen(dataset_name, root, "best")


def auto_validated_ranker(dataset_name: str, root: str | Path | None = None) -> str | None:
    """What ``--metric auto`` resolves to on `dataset_name` by the kept validation's rule
    (``auto``: a ranker that beats macs and params, else the better of the two; see
    ``tinynas.proxies._summary``), or None when no validation is kept or it predates the rule.
    """
    return _chosen(dataset_name, root, "auto")


def best_validated_ranker(dataset_name: str, root: str | Path | None = None) -> str | None:
    """Like `best_validated_metric`, but the validation's best ranker of any kind
    (``best_overall``: a registry metric, ``learned`` or ``ensemble``) that passed."""
    return _chosen(dataset_name, root, "best_overall")


def _chosen(dataset_name: str, root: str | Path | None, key: str) -> str | None:
    """The ranker a kept summary names under `key`, or None."""
    path = find_summary(dataset_name, root)
    if path is None:
        return None
    metric = (read_json(path).get(key) or {}).get("metric")
    return metric if isinstance(metric, str) else None


def validated_architectures(
    dataset_name: str, root: str | Path | None = None
) -> tuple[list[Architecture], list[float]]:
    """The architectures of the kept validation of `dataset_name` and their measured
    accuracies (to fit the learned ranker), in the order of their index (rows are appended as
    trainings finish, which with several workers is not that order); empty when none is kept."""
    archs, accuracies, _ = validated_scores(dataset_name, (), root)
    return archs, accuracies


def validated_scores(
    dataset_name: str, metrics: Sequence[str], root: str | Path | None = None
) -> tuple[list[Architecture], list[float], np.ndarray]:
    """`validated_architectures` and the kept scores of `metrics` for each architecture
    (shape (architectures, metrics); NaN where a metric failed or was not scored)."""
    path = find_summary(dataset_name, root)
    if path is None or not (path.parent / "results.csv").exists():
        return [], [], np.zeros((0, len(metrics)))
    found: list[tuple[int, Architecture, float, list[float]]] = []
    with open(path.parent / "results.csv", newline="") as f:
        for position, row in enumerate(csv.DictReader(f)):
            if row.get("accuracy") and row.get("architecture"):
                index = row.get("index") or ""
                scores = [float(row.get(f"score:{m}") or "nan") for m in metrics]
                found.append((int(index) if index.isdigit() else position,
                              Architecture.from_json(row["architecture"]),
                              float(row["accuracy"]), scores))  # fmt: skip
    found.sort(key=lambda item: item[0])
    return ([arch for _, arch, _, _ in found], [accuracy for _, _, accuracy, _ in found],
            np.array([scores for *_, scores in found], dtype=np.float64).reshape(
                len(found), len(metrics)))


def learned_ranker_proxies(dataset_name: str, root: str | Path | None = None) -> list[str]:
    """The trainingless metrics the kept validation's learned ranker takes as features
    (`tinynas.proxies._summary.learned_proxies`); none before that choice was kept."""
    path = find_summary(dataset_name, root)
    if path is None:
        return []
    learned = (read_json(path).get("metrics") or {}).get("learned") or {}
    proxies = learned.get("proxies") or []
    return [p for p in proxies if isinstance(p, str)]


__all__ = [
    "learned_ranker_proxies",
    "validated_scores",
    "BASELINES",
    "ENV_VAR",
    "TABLE_HEADER",
    "ArchResult",
    "Correlation",
    "Difference",
    "Panel",
    "ProxyValidationError",
    "ResultsFile",
    "ValidationConfig",
    "auto_validated_ranker",
    "best_validated_metric",
    "best_validated_ranker",
    "bootstrap_taus",
    "correlate",
    "cross_validated",
    "default_metrics",
    "default_out",
    "draw_scatter_grid",
    "ensemble_column",
    "find_summary",
    "headline",
    "interval",
    "kendall_tau",
    "learning_curve",
    "markdown_table",
    "noise_ceiling",
    "paired_difference",
    "proxies_root",
    "scatter_info",
    "score_all",
    "split_data",
    "spearman_rho",
    "summarise",
    "table_rows",
    "top_picks",
    "validate_proxies",
    "validated_architectures",
    "validation_architectures",
]
