"""`SearchConfig`: everything a search run is asked to do, as stored in its run store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinynas.space import SpaceConfig

# settings a resumed run must share with the run it continues: its candidates were evaluated,
# split and trained under them, and the model it delivers is bound by them (the exploration's
# limits, --candidates and --time-budget, may change: a resumed run may explore further)
RESUME_FIXED = (
    "device", "dataset", "strategy", "metric", "seed", "space",
    "max_flash_bytes", "max_ram_bytes", "max_latency_ms", "max_unas_peak_bytes",
    "max_unas_size_bytes", "shortlist", "capacity_picks", "halving_epochs", "epochs",
    "train_subset", "distill", "base",
)


@dataclass(frozen=True)
class SearchConfig:
    device: str
    out: Path
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    strategy: str = "evolution"
    base: str | None = None  # an architecture JSON for --strategy compound to scale
    metric: str = "auto"
    candidates: int | None = None
    time_budget_s: float | None = None  # the whole run's wall-clock; None: no plan
    max_flash_bytes: int | None = None
    max_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    max_unas_peak_bytes: int | None = None
    max_unas_size_bytes: int | None = None  # μNAS's model size: one byte per parameter
    # the stage settings: None is planned from time_budget_s (tinynas.pipeline._plan), or,
    # without a time budget, the fixed defaults of _plan.UNPLANNED (8, 0, 1.0, 10.0, False)
    shortlist: int | None = None
    capacity_picks: int | None = None  # shortlist slots for regular networks of most capacity
    halving_epochs: float | None = None  # epochs of the first rung
    epochs: float | None = None  # full training of the winner
    train_subset: int | None = None  # at most this many training images (quick runs)
    distill: bool | None = None  # train a teacher and distill it into the winner
    seed: int = 0
    space: SpaceConfig = field(default_factory=SpaceConfig)
    # where trainings run (tinynas.executor); not fixed on resume: a run may move machines
    workers: int = 0  # local worker processes; 0: this process
    ray: str | None = None  # None: not Ray; "": a local Ray or $RAY_ADDRESS; else an address
    gpus_per_job: float = 0.0  # share of a GPU each Ray job asks for

    def fixed_settings(self) -> dict[str, Any]:
        """The stage settings the user gave (None: planned)."""
        return {"shortlist": self.shortlist, "capacity_picks": self.capacity_picks,
                "halving_epochs": self.halving_epochs, "epochs": self.epochs,
                "distill": self.distill}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d
