"""Conversions between Python values and the run store's columns, with their checks.

Rows come in as mappings from column name to value (what ``sqlite3.Row`` offers); this module
never touches the database itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from tinynas.errors import StoreError
from tinynas.store._records import (
    CandidateRecord,
    CandidateStatus,
    MeasurementRecord,
    Provenance,
    TrainingRecord,
)


def now() -> str:
    """The time now, ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _plain(value: Any) -> Any:
    """JSON fallback for numpy arrays and scalars (``.tolist()``, else ``.item()``)."""
    for method in ("tolist", "item"):
        if callable(getattr(value, method, None)):
            return getattr(value, method)()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def dumps(value: Any, what: str) -> str:
    """Compact, key-sorted JSON of ``value``; a StoreError names ``what`` could not be stored."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)
    except (TypeError, ValueError) as e:
        raise StoreError(
            f"cannot store {what}: {e}; pass numbers, strings, booleans, lists and dicts"
        ) from e


def loads(text: str) -> Any:
    """The value of a JSON column."""
    return json.loads(text)


def status(value: CandidateStatus | str, reject_reason: str | None) -> CandidateStatus:
    """A valid status, with a reject reason exactly when it is ``REJECTED``."""
    parsed = _status(value)
    if parsed is CandidateStatus.REJECTED and not reject_reason:
        raise StoreError("a rejected candidate needs a reject_reason naming the budget it broke")
    if parsed is not CandidateStatus.REJECTED and reject_reason is not None:
        raise StoreError(
            f"reject_reason {reject_reason!r} given for status '{parsed.value}'; "
            "only a rejected candidate has one"
        )
    return parsed


def _status(value: CandidateStatus | str) -> CandidateStatus:
    try:
        return CandidateStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in CandidateStatus)
        raise StoreError(f"unknown candidate status {value!r}; use one of {names}") from None


def status_values(
    value: CandidateStatus | str | Iterable[CandidateStatus | str],
) -> tuple[str, ...]:
    """The column values of one status or of several."""
    if isinstance(value, (CandidateStatus, str)):
        return (_status(value).value,)
    return tuple(_status(v).value for v in value)


def provenance(value: Provenance | str) -> Provenance:
    """A valid provenance."""
    try:
        return Provenance(value)
    except ValueError:
        names = ", ".join(p.value for p in Provenance)
        raise StoreError(f"unknown provenance {value!r}; use one of {names}") from None


def accuracies(*values: float | None) -> tuple[float | None, ...]:
    """The accuracies as floats, each None or a fraction in [0, 1]."""
    names = ("val_accuracy", "test_accuracy", "int8_accuracy")
    out = []
    for name, value in zip(names, values, strict=True):
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise StoreError(f"{name} {value!r} is not a fraction in [0, 1]; store accuracies "
                             "as fractions (0.93, not 93)")  # fmt: skip
        out.append(None if value is None else float(value))
    return tuple(out)


def candidate(row: Mapping[str, Any]) -> CandidateRecord:
    """A candidate record from its row."""
    return CandidateRecord(
        id=row["id"], hash=row["hash"], arch_json=row["arch_json"],
        status=CandidateStatus(row["status"]), reject_reason=row["reject_reason"],
        estimates=loads(row["estimates_json"]), scores=loads(row["scores_json"]),
        on_front=bool(row["on_front"]), created_at=row["created_at"],
        updated_at=row["updated_at"],
    )  # fmt: skip


def training(row: Mapping[str, Any]) -> TrainingRecord:
    """A training record from its row."""
    return TrainingRecord(
        id=row["id"], candidate_id=row["candidate_id"], stage=row["stage"],
        epochs=row["epochs"], seed=row["seed"], val_accuracy=row["val_accuracy"],
        test_accuracy=row["test_accuracy"], int8_accuracy=row["int8_accuracy"],
        train_seconds=row["train_seconds"], device=row["device"], created_at=row["created_at"],
    )  # fmt: skip


def measurement(row: Mapping[str, Any]) -> MeasurementRecord:
    """A measurement record from its row."""
    return MeasurementRecord(
        id=row["id"], candidate_id=row["candidate_id"], kind=row["kind"],
        value=loads(row["value_json"]), provenance=Provenance(row["provenance"]),
        created_at=row["created_at"],
    )  # fmt: skip
