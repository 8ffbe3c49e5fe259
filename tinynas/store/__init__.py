"""The run store: ``runs/<name>/run.db``, the durable record of a search.

Every candidate is written as it is evaluated, one committed transaction per result, so a run
killed at any moment loses nothing already evaluated and continues with ``--resume``. This
package is the only part of tinynas that speaks SQL.
"""

from __future__ import annotations

from tinynas.store._layout import RunLayout
from tinynas.store._listing import list_runs, resolve_run, run_status, show_run, summarize
from tinynas.store._records import (
    CandidateDetails,
    CandidateRecord,
    CandidateStatus,
    MeasurementRecord,
    Provenance,
    RunDetails,
    RunSummary,
    TrainingRecord,
)
from tinynas.store._resume import open_run
from tinynas.store._schema import ACCURACY_METRICS, DB_NAME, SCHEMA_VERSION
from tinynas.store._store import RunStore

__all__ = [
    "ACCURACY_METRICS",
    "DB_NAME",
    "SCHEMA_VERSION",
    "CandidateDetails",
    "CandidateRecord",
    "CandidateStatus",
    "MeasurementRecord",
    "Provenance",
    "RunDetails",
    "RunLayout",
    "RunStore",
    "RunSummary",
    "TrainingRecord",
    "list_runs",
    "open_run",
    "resolve_run",
    "run_status",
    "show_run",
    "summarize",
]
