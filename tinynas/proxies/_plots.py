"""The PNG grid of scatter plots: each ranker's score against measured accuracy.

Split as optuna's visualisations are: ``scatter_info`` computes the panels (plain data, testable
without matplotlib) and ``draw_scatter_grid`` draws them with matplotlib's Agg backend. The
last panel is the noise ceiling: accuracy of the first training against the second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.proxies._ranker import ensemble_column
from tinynas.proxies._results import ArchResult

LOG_SPAN = 1e3  # a positive score spanning more than this factor is drawn on a log axis


@dataclass(frozen=True)
class Panel:
    """One scatter plot."""

    title: str
    x: tuple[float, ...]  # scores (finite ones only)
    y: tuple[float, ...]  # measured accuracy
    x_label: str
    log_x: bool
    y_label: str = "accuracy (measured)"


def _title(name: str, entry: dict[str, Any]) -> str:
    tau, ci = entry.get("tau"), entry.get("tau_ci") or [None, None]
    if tau is None:
        return f"{name}: tau n/a"
    if ci[0] is None or ci[1] is None:
        return f"{name}: tau {tau:+.2f}"
    return f"{name}: tau {tau:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"


def _panel(name: str, entry: dict[str, Any], x: np.ndarray, y: np.ndarray, x_label: str,
           y_label: str = "accuracy (measured)") -> Panel:
    keep = np.isfinite(x)
    xs, ys = x[keep], y[keep]
    log_x = bool(len(xs) and xs.min() > 0 and xs.max() / xs.min() > LOG_SPAN)
    return Panel(_title(name, entry), tuple(map(float, xs)), tuple(map(float, ys)), x_label,
                 log_x, y_label)


def _column(name: str, rows: Sequence[ArchResult], entry: dict[str, Any]) -> np.ndarray | None:
    """The scores a panel plots: kept scores, or a derived ranker rebuilt from them."""
    if name in rows[0].scores:
        return np.array([r.scores[name] for r in rows])
    if entry.get("kind") == "learned":
        return np.array(entry["predictions"], dtype=np.float64)
    if entry.get("kind") == "ensemble":
        columns = {m: [r.scores[m] for r in rows] for m in entry["members"]}
        return ensemble_column(columns, entry["members"])
    return None


def scatter_info(rows: Sequence[ArchResult], summary: dict[str, Any]) -> list[Panel]:
    """The panels of a validation: one per ranker of the summary (highest tau first), and the
    noise ceiling."""
    if not rows:
        return []
    y = np.array([r.accuracy for r in rows])
    entries = sorted(summary["metrics"].items(),
                     key=lambda kv: math.inf if kv[1]["tau"] is None else -kv[1]["tau"])
    panels = []
    for name, entry in entries:
        x = _column(name, rows, entry)
        if x is not None:
            label = "predicted accuracy (out of fold)" if name == "learned" else "score"
            panels.append(_panel(name, entry, np.asarray(x, dtype=np.float64), y, label))
    twice = [r for r in rows if r.accuracy_repeat is not None]
    if twice:
        ceiling = summary.get("noise_ceiling") or {}
        panels.append(_panel("noise ceiling", ceiling, np.array([r.accuracy for r in twice]),
                             np.array([r.accuracy_repeat for r in twice]),
                             "accuracy, first training", "accuracy, second training"))
    return panels


def draw_scatter_grid(panels: Sequence[Panel], path: Path, columns: int = 4) -> Path:
    """Draws `panels` in a grid and saves a PNG at `path`; returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(1, math.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        ax.scatter(panel.x, panel.y, s=8, alpha=0.6)
        ax.set_title(panel.title, fontsize=8)
        ax.set_xlabel(panel.x_label, fontsize=7)
        ax.set_ylabel(panel.y_label, fontsize=7)
        ax.tick_params(labelsize=6)
        if panel.log_x:
            ax.set_xscale("log")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
