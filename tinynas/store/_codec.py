"""Conversions between Python values and the run store's columns, with their checks.

Rows come in as mappings from column name to value (what ``sqlite3.Row`` offers); this module
never touches the database itself. A row that cannot be decoded (a store damaged, or edited by
hand) raises :class:`DamagedRow`, which names the table, the row and the column; the store adds
the run's name (``RunStore._session``).
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


class DamagedRow(StoreError):
    """A stored value that cannot be decoded: ``where`` (table and row) and what is wrong."""


def loads(text: str) -> Any:
    """The value of a JSON column."""
    return json.loads(text)


def _json(row: Mapping[str, Any], column: str, where: str) -> Any:
    """The value of JSON column `column` of a row; a DamagedRow when it is not JSON."""
    try:
        return loads(row[column])
    except (TypeError, ValueError, RecursionError) as e:
        raise DamagedRow(f"{where}: {column} is not JSON ({e})") from None


def _object(row: Mapping[str, Any], column: str, where: str) -> dict[str, Any]:
    """The value of a JSON column that holds an object."""
    value = _json(row, column, where)
    if not isinstance(value, dict):
        raise DamagedRow(f"{where}: {column} is {type(value).__name__} {value!r:.40}, not a "
                         "JSON object")  # fmt: skip
    return value


def _number(row: Mapping[str, Any], column: str, where: str, optional: bool = False) -> Any:
    """The value of a numeric column (None allowed when `optional`)."""
    value = row[column]
    if (value is None and optional) or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    ):
        return value
    raise DamagedRow(f"{where}: {column} is {value!r:.40}, not a number")


def meta_value(key: str, text: Any) -> Any:
    """The JSON value stored under meta `key` (the config must be an object)."""
    value = _json({"value": text}, "value", f"meta '{key}'")
    if key == "config" and not isinstance(value, dict):
        raise DamagedRow(f"meta 'config': value is {type(value).__name__} {value!r:.40}, not a "
                         "JSON object")  # fmt: skip
    return value


def _stored_enum(enum_type: Any, row: Mapping[str, Any], column: str, where: str) -> Any:
    """The member of `enum_type` stored in `column`; a DamagedRow for an unknown value."""
    try:
        return enum_type(row[column])
    except ValueError:
        names = ", ".join(m.value for m in enum_type)
        raise DamagedRow(f"{where}: unknown {column} {row[column]!r:.40} (expected one of "
                         f"{names})") from None  # fmt: skip


def status(value: CandidateStatus | str, reject_reason: str | None) -> CandidateStatus:
    """A valid status, with a reject reason when it is ``REJECTED`` (the budget it broke) and
    optionally when ``FAILED`` (the error that ended its training)."""
    parsed = _status(value)
    if parsed is CandidateStatus.REJECTED and not reject_reason:
        raise StoreError("a rejected candidate needs a reject_reason naming the budget it broke")
    if parsed not in (CandidateStatus.REJECTED, CandidateStatus.FAILED) and \
            reject_reason is not None:
        raise StoreError(
            f"reject_reason {reject_reason!r} given for status '{parsed.value}'; "
            "only a rejected or failed candidate has one"
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
    where = f"candidates row {row['id']}"
    _object(row, "arch_json", where)  # checked here; parsed by CandidateRecord.architecture
    return CandidateRecord(
        id=row["id"], hash=row["hash"], arch_json=row["arch_json"],
        status=_stored_enum(CandidateStatus, row, "status", where),
        reject_reason=row["reject_reason"], estimates=_object(row, "estimates_json", where),
        scores=_object(row, "scores_json", where), on_front=bool(row["on_front"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


def training(row: Mapping[str, Any]) -> TrainingRecord:
    """A training record from its row."""
    where = f"trainings row {row['id']}"
    return TrainingRecord(
        id=row["id"], candidate_id=row["candidate_id"], stage=row["stage"],
        epochs=_number(row, "epochs", where), seed=_number(row, "seed", where),
        val_accuracy=_number(row, "val_accuracy", where, optional=True),
        test_accuracy=_number(row, "test_accuracy", where, optional=True),
        int8_accuracy=_number(row, "int8_accuracy", where, optional=True),
        train_seconds=_number(row, "train_seconds", where), device=row["device"],
        created_at=row["created_at"],
    )  # fmt: skip


def measurement(row: Mapping[str, Any]) -> MeasurementRecord:
    """A measurement record from its row."""
    where = f"measurements row {row['id']}"
    return MeasurementRecord(
        id=row["id"], candidate_id=row["candidate_id"], kind=row["kind"],
        value=_json(row, "value_json", where),
        provenance=_stored_enum(Provenance, row, "provenance", where),
        created_at=row["created_at"],
    )  # fmt: skip
