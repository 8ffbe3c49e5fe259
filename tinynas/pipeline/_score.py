"""Scoring a user's own architectures with trainingless metrics (`tinynas proxies score`).

The metrics score as in a search: on the same seeded batch of training images (resized to each
architecture's input resolution), `auto` resolved from the kept proxy validation of the
dataset, the penalised ReLU count against the board's budget. Every score is a prediction of
trained accuracy (higher is better), never a measurement.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget
from tinynas.pipeline._explore import resize_batch
from tinynas.pipeline._metric import make_metric, resolve_metric
from tinynas.pipeline._run import METRIC_BATCH
from tinynas.space import Architecture, data_mismatch, read_architecture_lines


@dataclass(frozen=True)
class ScoredArchitecture:
    line: int  # in the architectures file
    arch_hash: str
    scores: tuple[float, ...]  # one per metric of the table, NaN where the metric failed


@dataclass(frozen=True)
class ScoreTable:
    """Scores of every architecture of a file, one column per metric."""

    source: str  # the architectures file
    dataset: str
    metrics: tuple[str, ...]  # the metrics that scored, 'auto' resolved, each once
    resolved: dict[str, str]  # what a requested name stood for ('auto' -> 'params'), if other
    rows: tuple[ScoredArchitecture, ...]

    @property
    def failed(self) -> dict[str, int]:
        """Metric -> how many architectures it could not score (NaN)."""
        return {m: sum(math.isnan(r.scores[k]) for r in self.rows)
                for k, m in enumerate(self.metrics)}  # fmt: skip

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "arch_hash", *self.metrics])
        for row in self.rows:
            writer.writerow([row.line, row.arch_hash, *(repr(s) for s in row.scores)])
        return out.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "dataset": self.dataset, "metrics": list(self.metrics),
            "resolved": self.resolved,
            "failed": self.failed,
            "rows": [{"line": r.line, "arch_hash": r.arch_hash,
                      "scores": {m: (None if math.isnan(s) else s)
                                 for m, s in zip(self.metrics, r.scores, strict=True)}}
                     for r in self.rows],
            "provenance": {"scores": "predicted: trainingless metrics, higher is better"},
        }  # fmt: skip


def score_file(path: str | Path, dataset: str, metric_names: Sequence[str], device: Device,
               data_dir: str | None = None, seed: int = 0) -> ScoreTable:  # fmt: skip
    """Scores of every architecture of the JSON Lines file `path` on `dataset`.

    Raises:
        SearchSpaceError: A line that is not a valid architecture (named with its number).
        TinyNASError: An architecture that does not fit the dataset (input channels, classes),
            an unknown metric, or `learned` without a kept validation.
        DatasetError: The dataset cannot be loaded.
    """
    from tinynas.data import load_dataset
    from tinynas.proxies import score_all

    archs = read_architecture_lines(path)  # every line checked before any work
    ds = load_dataset(dataset, data_dir)
    for line, arch in archs:
        _check_fits(path, line, arch, ds.input_shape, ds.num_classes)
    requested = tuple(metric_names) or ("auto",)
    resolved = {n: resolve_metric(n, ds.name) for n in requested}
    names = tuple(dict.fromkeys(resolved.values()))
    budget = Budget.for_device(device)
    metrics = {n: make_metric(n, device, budget, ds.name) for n in names}
    pick = np.random.default_rng(seed).choice(len(ds.x_train), min(METRIC_BATCH,
                                              len(ds.x_train)), False)  # fmt: skip
    batch = (ds.x_train[pick], ds.y_train[pick])
    rows = []
    for line, arch in archs:
        scores, _ = score_all(metrics, arch, resize_batch(batch, arch), seed)
        rows.append(ScoredArchitecture(line, arch.content_hash, tuple(scores[n] for n in names)))
    return ScoreTable(str(path), ds.name, names, {r: n for r, n in resolved.items() if r != n},
                      tuple(rows))


def _check_fits(path: str | Path, line: int, arch: Architecture, shape: tuple[int, ...],
                classes: int) -> None:  # fmt: skip
    problem = data_mismatch(arch, shape, classes)
    if problem is not None:
        raise TinyNASError(f"{path} line {line}: {problem}")
