"""The immutable records that a run store hands back, and the lifecycle of a candidate.

Like optuna's ``FrozenTrial``, a record is a snapshot: changing a candidate goes through
:class:`tinynas.store.RunStore`, which returns a fresh record.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tinynas.space import Architecture


class CandidateStatus(enum.Enum):
    """Where a candidate is in the search.

    A candidate starts ``PROPOSED`` (stored, estimates known). The estimators either reject it
    (``REJECTED``, over a budget of the board, with the reason) or the trainingless metrics
    score it (``SCORED``). A shortlisted candidate goes ``TRAINING`` and ends ``TRAINED`` or
    ``FAILED``.
    """

    PROPOSED = "proposed"
    REJECTED = "rejected"
    SCORED = "scored"
    TRAINING = "training"
    TRAINED = "trained"
    FAILED = "failed"

    def is_finished(self) -> bool:
        """True when no work on the candidate is under way.

        A resumed search re-does only the candidates that are not finished: ``PROPOSED``
        (killed before it was scored) and ``TRAINING`` (killed while it trained).
        """
        return self not in (CandidateStatus.PROPOSED, CandidateStatus.TRAINING)


class Provenance(enum.Enum):
    """Where a number came from (every number in tinynas says which)."""

    ESTIMATED = "estimated"  # computed from the architecture by tinynas.estimators
    PREDICTED = "predicted"  # a fitted model, e.g. the board's latency model
    EMULATED = "emulated"  # the emulated board: never presented as measured
    MEASURED = "measured"  # a real board over serial, or a real run on the host


@dataclass(frozen=True)
class CandidateRecord:
    """One candidate architecture of a run, as stored."""

    id: int
    hash: str  # Architecture.content_hash
    arch_json: str
    status: CandidateStatus
    reject_reason: str | None
    estimates: dict[str, Any] = field(default_factory=dict)  # estimated by tinynas.estimators
    scores: dict[str, float] = field(default_factory=dict)  # trainingless metric scores
    on_front: bool = False  # on the Pareto front, as flagged by the search
    created_at: str = ""  # ISO 8601, UTC
    updated_at: str = ""

    @property
    def architecture(self) -> Architecture:
        """The architecture, parsed back from its JSON."""
        from tinynas.space import Architecture

        return Architecture.from_json(self.arch_json)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; the architecture as an object, not a string."""
        import json

        d = asdict(self)
        d["status"] = self.status.value
        d["architecture"] = json.loads(d.pop("arch_json"))
        return d


@dataclass(frozen=True)
class TrainingRecord:
    """One training of a candidate; accuracies are measured on the host, in [0, 1]."""

    id: int
    candidate_id: int
    stage: str  # e.g. "halving-1", "final"
    epochs: float  # fractional for the first successive-halving rungs
    seed: int
    val_accuracy: float | None
    test_accuracy: float | None
    int8_accuracy: float | None  # of the int8 TFLite model, when it was converted
    train_seconds: float
    device: str  # where it trained: "cpu" or "cuda"
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class MeasurementRecord:
    """One measured, emulated or predicted quantity of a candidate (e.g. its latency)."""

    id: int
    candidate_id: int
    kind: str  # e.g. "latency"
    value: Any  # JSON data, e.g. {"latency_ms": 41.2, "runs": 10}
    provenance: Provenance
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        d = asdict(self)
        d["provenance"] = self.provenance.value
        return d


@dataclass(frozen=True)
class RunSummary:
    """One line of ``tinynas runs``.

    ``status`` is what the search last wrote ("running", "finished", ...) except that a run
    that says "running" while no process holds its lock shows as "interrupted" (it can be
    continued with ``--resume``); a run whose store cannot be read shows as "unreadable",
    with the reason in ``error``.
    """

    name: str
    path: str  # the run folder
    created_at: str | None
    device: str | None
    dataset: str | None
    status: str
    candidates: int  # stored, whatever their status
    evaluated: int  # past PROPOSED: rejected, scored, training, trained or failed
    trained: int  # candidates with at least one training
    best_accuracy: float | None  # highest test_accuracy of any training (measured on host)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class CandidateDetails:
    """A candidate with its trainings and measurements, for ``tinynas runs show``."""

    candidate: CandidateRecord
    trainings: tuple[TrainingRecord, ...] = ()
    measurements: tuple[MeasurementRecord, ...] = ()

    @property
    def last_training(self) -> TrainingRecord | None:
        """The most recent training (the longest, in a successive-halving search)."""
        return self.trainings[-1] if self.trainings else None

    def to_dict(self) -> dict[str, Any]:
        """The candidate's data with ``trainings`` and ``measurements`` lists added."""
        d = self.candidate.to_dict()
        d["trainings"] = [t.to_dict() for t in self.trainings]
        d["measurements"] = [m.to_dict() for m in self.measurements]
        return d


@dataclass(frozen=True)
class RunDetails:
    """One run in full, for ``tinynas runs show``: its Pareto front and its chosen model."""

    summary: RunSummary
    meta: dict[str, Any]  # config, device, dataset, seed, status, times, version
    front: tuple[CandidateDetails, ...]  # flagged by the search, in the order added
    chosen: CandidateDetails | None
    files: tuple[str, ...]  # what the run folder holds beside its store (model.tflite, ...)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "summary": self.summary.to_dict(),
            "config": self.meta.get("config", {}),
            "meta": self.meta,
            "front": [c.to_dict() for c in self.front],
            "chosen": None if self.chosen is None else self.chosen.to_dict(),
            "files": list(self.files),
        }
