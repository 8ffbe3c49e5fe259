"""The Pareto front, trainings, measurements and run metadata of :class:`RunStore`.

The half of the store that comes after scoring, kept apart as a mixin so that ``_store.py``
(the only module that imports ``sqlite3``) stays readable; every statement here runs in the
store's ``_session``.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from tinynas.errors import StoreError
from tinynas.store import _codec as codec
from tinynas.store._records import (
    CandidateRecord,
    MeasurementRecord,
    Provenance,
    TrainingRecord,
)
from tinynas.store._schema import ACCURACY_METRICS


class RunResults:
    """What a run learns about its candidates once they are scored, and the run's metadata."""

    def _session(self, action: str, write: bool = False) -> AbstractContextManager[Any]:
        raise NotImplementedError  # RunStore._session

    def _one_candidate(self, cur: Any, candidate_id: int) -> CandidateRecord:
        raise NotImplementedError  # RunStore._one_candidate

    def candidate(self, candidate_id: int) -> CandidateRecord:
        raise NotImplementedError  # RunStore.candidate

    def _select_candidates(
        self, cur: Any, clause: str, args: tuple[Any, ...]
    ) -> list[CandidateRecord]:
        raise NotImplementedError  # RunStore._select_candidates

    @property
    def name(self) -> str:
        raise NotImplementedError  # RunStore.name

    def mark_front(self, ids: Iterable[int]) -> None:
        """Flag exactly these candidates as the Pareto front (the others are unflagged)."""
        wanted = sorted(set(ids))
        with self._session("mark the Pareto front", write=True) as cur:
            cur.execute("UPDATE candidates SET on_front = 0 WHERE on_front = 1")
            rows = [(i,) for i in wanted]
            cur.executemany("UPDATE candidates SET on_front = 1 WHERE id = ?", rows)
            if cur.rowcount != len(wanted):
                found = {r[0] for r in cur.execute("SELECT id FROM candidates WHERE on_front = 1")}
                missing = sorted(set(wanted) - found)
                raise StoreError(f"no candidate {missing[0]} in run '{self.name}'; the front "
                                 "names only stored candidates")  # fmt: skip

    def front(self) -> list[CandidateRecord]:
        """The candidates flagged as the Pareto front, in the order they were added."""
        with self._session("read the Pareto front") as cur:
            return self._select_candidates(cur, "WHERE on_front = 1 ORDER BY id", ())

    def add_training(
        self, candidate_id: int, *, stage: str, epochs: float, seed: int, train_seconds: float,
        device: str, val_accuracy: float | None = None, test_accuracy: float | None = None,
        int8_accuracy: float | None = None,
    ) -> TrainingRecord:  # fmt: skip
        """Store one training of a candidate.

        Args:
            candidate_id: the candidate trained.
            stage: which training it was, e.g. "halving-1" or "final".
            epochs: epochs trained.
            seed: the training seed.
            train_seconds: wall-clock training time, measured.
            device: where it trained: "cpu" or "cuda".
            val_accuracy: accuracy on the validation split, a fraction in [0, 1].
            test_accuracy: accuracy on the test split, a fraction in [0, 1].
            int8_accuracy: test accuracy of the int8 TFLite model, a fraction in [0, 1].

        Returns:
            The stored training.
        """
        accuracies = codec.accuracies(val_accuracy, test_accuracy, int8_accuracy)
        row = (candidate_id, stage, float(epochs), int(seed), *accuracies, float(train_seconds),
               device, codec.now())  # fmt: skip
        with self._session("add a training", write=True) as cur:
            self._one_candidate(cur, candidate_id)
            cur.execute(
                "INSERT INTO trainings (candidate_id, stage, epochs, seed, val_accuracy, "
                "test_accuracy, int8_accuracy, train_seconds, device, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            new = cur.execute("SELECT * FROM trainings WHERE id = ?", (cur.lastrowid,))
            return codec.training(new.fetchone())

    def trainings(self, candidate_id: int | None = None) -> list[TrainingRecord]:
        """The trainings in the order they were stored (of one candidate, if given)."""
        where, args = _of_candidate(candidate_id)
        with self._session("read the trainings") as cur:
            rows = cur.execute(f"SELECT * FROM trainings {where} ORDER BY id", args).fetchall()
            return [codec.training(row) for row in rows]

    def best_trained(self, metric: str = "test_accuracy") -> TrainingRecord | None:
        """The training with the highest ``metric`` (the first one on a tie), or None."""
        if metric not in ACCURACY_METRICS:
            raise StoreError(f"unknown accuracy metric '{metric}'; use one of "
                             f"{', '.join(ACCURACY_METRICS)}")  # fmt: skip
        with self._session("find the best training") as cur:
            row = cur.execute(
                f"SELECT * FROM trainings WHERE {metric} IS NOT NULL "
                f"ORDER BY {metric} DESC, id ASC LIMIT 1"
            ).fetchone()
            return None if row is None else codec.training(row)

    def add_measurement(
        self, candidate_id: int, kind: str, value: Any, provenance: Provenance | str
    ) -> MeasurementRecord:
        """Store a measured, emulated, predicted or estimated quantity of a candidate."""
        row = (candidate_id, kind, codec.dumps(value, f"measurement '{kind}'"),
               codec.provenance(provenance).value, codec.now())  # fmt: skip
        with self._session("add a measurement", write=True) as cur:
            self._one_candidate(cur, candidate_id)
            cur.execute(
                "INSERT INTO measurements (candidate_id, kind, value_json, provenance, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            new = cur.execute("SELECT * FROM measurements WHERE id = ?", (cur.lastrowid,))
            return codec.measurement(new.fetchone())

    def measurements(self, candidate_id: int | None = None) -> list[MeasurementRecord]:
        """The measurements in the order they were stored (of one candidate, if given)."""
        where, args = _of_candidate(candidate_id)
        with self._session("read the measurements") as cur:
            rows = cur.execute(f"SELECT * FROM measurements {where} ORDER BY id", args).fetchall()
            return [codec.measurement(row) for row in rows]

    # -- run metadata ----------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (replacing any value there)."""
        encoded = codec.dumps(value, f"meta '{key}'")
        with self._session(f"set meta '{key}'", write=True) as cur:
            _put_meta(cur, key, encoded)

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``, or ``default``."""
        with self._session(f"read meta '{key}'") as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return default if row is None else codec.meta_value(key, row[0])

    def meta(self) -> dict[str, Any]:
        """All metadata: config, device, dataset, seed, status, times, version, chosen id."""
        with self._session("read the metadata") as cur:
            rows = cur.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
            return {key: codec.meta_value(key, value) for key, value in rows}

    def config(self) -> dict[str, Any]:
        """The configuration the run was created with."""
        return dict(self.get_meta("config", {}))

    def set_chosen(self, candidate_id: int) -> None:
        """Record the candidate that the search chose as its finished model."""
        with self._session("set the chosen model", write=True) as cur:
            self._one_candidate(cur, candidate_id)
            _put_meta(cur, "chosen_candidate_id", codec.dumps(candidate_id, "a candidate id"))

    def chosen(self) -> CandidateRecord | None:
        """The chosen candidate, or None before the search chose one."""
        candidate_id = self.get_meta("chosen_candidate_id")
        return None if candidate_id is None else self.candidate(candidate_id)

    def finish(self, status: str = "finished") -> None:
        """Record that the run ended (``status``: finished, failed, stopped) and when."""
        values = {"status": status, "finished_at": codec.now()}
        with self._session("finish the run", write=True) as cur:
            for key, value in values.items():
                _put_meta(cur, key, codec.dumps(value, f"meta '{key}'"))

    def integrity_problems(self) -> list[str]:
        """What SQLite's integrity and foreign-key checks find; empty for a sound store.

        Raises:
            StoreError: the damage is such that the check itself cannot run ("is damaged").
        """
        with self._session("check the store's integrity") as cur:
            rows = [str(r[0]) for r in cur.execute("PRAGMA integrity_check").fetchall()]
            keys = cur.execute("PRAGMA foreign_key_check").fetchall()
        problems = [] if rows == ["ok"] else rows
        return problems + [f"{r[0]} row {r[1]} refers to a missing {r[2]} row" for r in keys]


def _of_candidate(candidate_id: int | None) -> tuple[str, tuple[int, ...]]:
    """A WHERE clause and its arguments: all rows, or those of one candidate."""
    return ("", ()) if candidate_id is None else ("WHERE candidate_id = ?", (candidate_id,))


def _put_meta(cur: Any, key: str, encoded: str) -> None:
    cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, encoded))
