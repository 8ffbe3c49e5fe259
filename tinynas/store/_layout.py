"""The layout of a run folder: the one place that names what a search keeps where.

    runs/<name>/run.db                  the run store (this package)
    runs/<name>/.lock                   the writer's lock (``_lock.py``)
    runs/<name>/weights/<id>-<stage>.pt a candidate's weights after a training stage
    runs/<name>/weights/teacher.pt      the distillation teacher of the run
    runs/<name>/architecture.json       the chosen model's architecture
    runs/<name>/weights.pt              the chosen model's trained weights
    runs/<name>/report.md, pareto.png   the run report
    runs/<name>/refined-<method>/       a refinement of the chosen model

The deliverables of the chosen model (``model.tflite``, ``model_data.cc/.h``,
``model_card.json``) are written into the run folder itself by ``tinynas.export``, which owns
their names in any folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinynas.store._lock import LOCK_NAME
from tinynas.store._schema import DB_NAME

WEIGHTS_DIR = "weights"
# a store being created is built under a name of this prefix and renamed to run.db when whole
CREATING_PREFIX = ".run.db.creating"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder; nothing is created or read here."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    def weights(self, candidate_id: int, stage: str) -> Path:
        """A candidate's weights after training stage `stage` (``halving-0``, ``final``...)."""
        return self.root / WEIGHTS_DIR / f"{candidate_id}-{stage}.pt"

    @property
    def teacher_weights(self) -> Path:
        return self.root / WEIGHTS_DIR / "teacher.pt"

    @property
    def architecture(self) -> Path:
        """The chosen model's architecture JSON, written when the search finishes."""
        return self.root / "architecture.json"

    @property
    def chosen_weights(self) -> Path:
        """The chosen model's weights (torch state dict), written when the search finishes."""
        return self.root / "weights.pt"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def pareto_plot(self) -> Path:
        return self.root / "pareto.png"

    def refined(self, method: str) -> RunLayout:
        """The folder of the chosen model refined by `method` (``rarts``, ``darts1``)."""
        return RunLayout(self.root / f"refined-{method}")
