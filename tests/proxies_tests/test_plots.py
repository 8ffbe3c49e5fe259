"""The scatter grid's data half, and the PNG it draws."""

from __future__ import annotations

import math
from pathlib import Path

from tinynas.proxies import ArchResult, draw_scatter_grid, scatter_info
from tinynas.testing.metrics import sample_archs


def _rows() -> list[ArchResult]:
    archs = sample_archs(4, seed=2)
    counts = [10.0, 1e3, 1e5, math.nan]  # spans four decades; one failed score
    return [
        ArchResult(i, a, {}, accuracy=0.5 + i / 10,
                   accuracy_repeat=0.55 + i / 10 if i < 3 else None, train_seconds=1.0,
                   train_device="cpu",
                   scores={"relu_count": counts[i], "naswot": float(i) - 1.5},
                   ms={"relu_count": 0.1, "naswot": 5.0})
        for i, a in enumerate(archs)
    ]  # fmt: skip


def _summary() -> dict:
    entry = {"tau": 0.5, "tau_ci": [0.1, 0.9], "kind": "metric"}
    return {"metrics": {"naswot": {**entry, "tau": 0.9}, "relu_count": entry,
                        "ensemble": {**entry, "tau": None, "kind": "ensemble",
                                     "members": ["naswot", "relu_count"]}},
            "noise_ceiling": {"tau": 1.0, "tau_ci": [1.0, 1.0]}}


def test_panels_follow_tau_and_drop_failed_scores() -> None:
    panels = scatter_info(_rows(), _summary())
    assert [p.title.split(":")[0] for p in panels] == ["naswot", "relu_count", "ensemble",
                                                        "noise ceiling"]
    naswot, relu, ensemble, ceiling = panels
    assert naswot.title == "naswot: tau +0.90 [+0.10, +0.90]" and not naswot.log_x
    assert relu.x == (10.0, 1e3, 1e5) and relu.y == (0.5, 0.6, 0.7) and relu.log_x
    assert ensemble.title == "ensemble: tau n/a" and len(ensemble.x) == 4
    assert ceiling.x == (0.5, 0.6, 0.7) and ceiling.y == (0.55, 0.65, 0.75)
    assert ceiling.y_label == "accuracy, second training"


def test_grid_is_drawn_as_png(tmp_path: Path) -> None:
    path = draw_scatter_grid(scatter_info(_rows(), _summary()), tmp_path / "grid.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > height > 0  # four panels in one row of four
