"""``StoreTestCase``: the behaviour every run store must have, in memory or in a file.

Like optuna's ``StorageTestCase``: a test module inherits the class and supplies a ``store``
fixture, usually parametrized over :data:`STORE_MODES` with :func:`create_store`::

    @pytest.fixture(params=STORE_MODES)
    def store(request, tmp_path):
        with create_store(request.param, tmp_path) as s:
            yield s

    class TestRunStore(StoreTestCase):
        pass
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinynas.errors import StoreError
from tinynas.space import Architecture, ConvBlock, ConvLayer
from tinynas.store import CandidateStatus, Provenance, RunStore

STORE_MODES = ("memory", "file")
CONFIG = {"device": "nucleo-l4r5zi", "dataset": "digits", "seed": 7, "strategy": "evolution"}


def create_store(mode: str, tmp_path: Path) -> RunStore:
    """A new store with :data:`CONFIG`: ``"memory"`` or ``"file"`` (``tmp_path/run``)."""
    if mode == "memory":
        return RunStore.memory(CONFIG)
    if mode == "file":
        return RunStore.create(tmp_path / "run", CONFIG)
    raise StoreError(f"unknown store mode {mode!r}; use one of {STORE_MODES}")


def arch(n: int) -> Architecture:
    """A small valid architecture, different for every ``n`` >= 0."""
    layer = ConvLayer(type="conv2d", kernel_size=3, filters=n + 1)
    return Architecture((8, 8, 1), 3, blocks=(ConvBlock((layer,)),), dense=(10,))


class StoreTestCase:
    """The contract of :class:`tinynas.store.RunStore`; needs a ``store`` fixture."""

    def test_add_candidate_round_trips(self, store: RunStore) -> None:
        a, scores = arch(0), {"naswot": 2.5}
        rec = store.add_candidate(a, CandidateStatus.SCORED, {"flash_bytes": 1234}, scores)
        assert rec.id >= 1
        assert rec.hash == a.content_hash
        assert rec.architecture == a
        assert (rec.status, rec.estimates, rec.scores) == (
            CandidateStatus.SCORED, {"flash_bytes": 1234}, {"naswot": 2.5})  # fmt: skip
        assert store.candidate(rec.id) == rec
        assert store.find(a.content_hash) == rec
        assert store.find(arch(1).content_hash) is None

    def test_duplicate_hash_returns_the_stored_record(self, store: RunStore) -> None:
        first = store.add_candidate(arch(0), "scored", {"flash_bytes": 1}, {"naswot": 1.0})
        again = store.add_candidate(arch(0), "proposed", {"flash_bytes": 999}, {})
        assert again == first
        assert store.count() == 1

    def test_candidates_in_insertion_order_and_by_status(self, store: RunStore) -> None:
        statuses = ["scored", "proposed", "scored", "failed", "training"]
        ids = [store.add_candidate(arch(n), s).id for n, s in enumerate(statuses)]
        assert [c.id for c in store.candidates()] == ids
        assert [c.id for c in store.candidates("scored")] == [ids[0], ids[2]]
        unfinished = store.candidates([CandidateStatus.PROPOSED, CandidateStatus.TRAINING])
        assert [c.id for c in unfinished] == [ids[1], ids[4]]
        assert store.count() == 5 and store.count(CandidateStatus.SCORED) == 2

    def test_status_changes_and_reject_reason(self, store: RunStore) -> None:
        rec = store.add_candidate(arch(0))
        assert rec.status is CandidateStatus.PROPOSED
        rejected = store.set_status(rec.id, "rejected", reject_reason="arena 70000 B > 65536 B")
        assert rejected.reject_reason == "arena 70000 B > 65536 B"
        assert store.candidate(rec.id).status is CandidateStatus.REJECTED
        with pytest.raises(StoreError, match="needs a reject_reason"):
            store.add_candidate(arch(1), "rejected")
        with pytest.raises(StoreError, match="only a rejected or failed candidate"):
            store.set_status(rec.id, "scored", reject_reason="too big")
        failed = store.set_status(rec.id, "failed", reject_reason="training halving-0 failed")
        assert failed.reject_reason == "training halving-0 failed"
        with pytest.raises(StoreError, match="unknown candidate status 'done'"):
            store.set_status(rec.id, "done")
        assert store.set_status(rec.id, "scored").reject_reason is None

    def test_set_scores_merges(self, store: RunStore) -> None:
        rec = store.add_candidate(arch(0), "proposed", {}, {"naswot": 1.0, "synflow": 2.0})
        updated = store.set_scores(rec.id, {"synflow": 5.0, "zen": 3.0})
        assert updated.scores == {"naswot": 1.0, "synflow": 5.0, "zen": 3.0}
        assert store.candidate(rec.id).scores == updated.scores

    def test_unknown_candidate_is_a_clear_error(self, store: RunStore) -> None:
        with pytest.raises(StoreError, match="no candidate 41 in run"):
            store.candidate(41)
        with pytest.raises(StoreError, match="no candidate 41"):
            store.set_status(41, "scored")
        with pytest.raises(StoreError, match="no candidate 41"):
            store.add_training(41, stage="final", epochs=1, seed=0, train_seconds=1.0,
                               device="cpu")  # fmt: skip
        assert store.trainings() == []

    def test_trainings_and_best_trained(self, store: RunStore) -> None:
        a, b = store.add_candidate(arch(0)).id, store.add_candidate(arch(1)).id
        assert store.best_trained() is None
        kw: dict[str, Any] = {"epochs": 3, "seed": 1, "train_seconds": 2.5, "device": "cpu"}
        store.add_training(a, stage="halving-1", val_accuracy=0.7, test_accuracy=0.71, **kw)
        t_b = store.add_training(b, stage="final", val_accuracy=0.6, test_accuracy=0.9, **kw)
        store.add_training(a, stage="final", val_accuracy=0.95, test_accuracy=0.9, **kw)
        assert store.best_trained() == t_b  # a tie on test accuracy: the first one wins
        best_val = store.best_trained("val_accuracy")
        assert best_val is not None and (best_val.candidate_id, best_val.stage) == (a, "final")
        assert [t.stage for t in store.trainings(a)] == ["halving-1", "final"]
        assert len(store.trainings()) == 3
        with pytest.raises(StoreError, match="unknown accuracy metric 'loss'"):
            store.best_trained("loss")

    def test_accuracy_must_be_a_fraction(self, store: RunStore) -> None:
        rec = store.add_candidate(arch(0))
        with pytest.raises(StoreError, match="test_accuracy 93.1 is not a fraction"):
            store.add_training(rec.id, stage="final", epochs=1, seed=0, train_seconds=1.0,
                               device="cpu", test_accuracy=93.1)  # fmt: skip
        assert store.trainings() == []

    def test_measurements_keep_provenance(self, store: RunStore) -> None:
        rec = store.add_candidate(arch(0))
        m = store.add_measurement(rec.id, "latency", {"latency_ms": 41.5, "runs": 10}, "emulated")
        assert m.provenance is Provenance.EMULATED
        assert store.measurements(rec.id) == [m]
        assert m.value == {"latency_ms": 41.5, "runs": 10}
        with pytest.raises(StoreError, match="unknown provenance 'guessed'"):
            store.add_measurement(rec.id, "latency", 1.0, "guessed")
        assert len(store.measurements()) == 1

    def test_mark_front_replaces_the_front(self, store: RunStore) -> None:
        ids = [store.add_candidate(arch(n)).id for n in range(4)]
        store.mark_front([ids[0], ids[2]])
        assert [c.id for c in store.front()] == [ids[0], ids[2]]
        store.mark_front([ids[3], ids[1]])
        assert [c.id for c in store.front()] == [ids[1], ids[3]]
        assert store.candidate(ids[0]).on_front is False

    def test_mark_front_with_unknown_id_changes_nothing(self, store: RunStore) -> None:
        ids = [store.add_candidate(arch(n)).id for n in range(3)]
        store.mark_front([ids[0]])
        with pytest.raises(StoreError, match="no candidate 99 in run"):
            store.mark_front([ids[1], 99])
        assert [c.id for c in store.front()] == [ids[0]]

    def test_meta_and_config(self, store: RunStore) -> None:
        assert store.config() == CONFIG
        meta = store.meta()
        assert (meta["device"], meta["dataset"], meta["seed"]) == ("nucleo-l4r5zi", "digits", 7)
        assert meta["status"] == "running" and meta["created_at"].endswith("+00:00")
        store.set_meta("note", {"a": [1, 2]})
        assert store.get_meta("note") == {"a": [1, 2]}
        assert store.get_meta("missing", default=5) == 5
        store.finish("stopped")
        assert store.get_meta("status") == "stopped" and store.get_meta("finished_at")

    def test_chosen_model(self, store: RunStore) -> None:
        assert store.chosen() is None
        rec = store.add_candidate(arch(0), "trained")
        store.set_chosen(rec.id)
        assert store.chosen() == rec
        with pytest.raises(StoreError, match="no candidate 7"):
            store.set_chosen(7)
        assert store.chosen() == rec

    def test_numpy_values_are_stored_as_plain_json(self, store: RunStore) -> None:
        est = {"flash_bytes": np.int64(4096), "latency_ms": np.float32(1.5), "v": np.arange(2)}
        rec = store.add_candidate(arch(0), "scored", est, {"naswot": np.float64(3.25)})
        assert store.candidate(rec.id).estimates == {"flash_bytes": 4096, "latency_ms": 1.5,
                                                     "v": [0, 1]}  # fmt: skip
        assert type(store.candidate(rec.id).estimates["flash_bytes"]) is int

    def test_non_json_value_is_refused_and_not_stored(self, store: RunStore) -> None:
        with pytest.raises(StoreError, match="cannot store estimates"):
            store.add_candidate(arch(0), "scored", {"flash_bytes": object()})
        assert store.count() == 0

    def test_records_are_frozen_and_serialisable(self, store: RunStore) -> None:
        rec = store.add_candidate(arch(0), "scored", {"macs": 10}, {"naswot": 1.0})
        with pytest.raises(dataclasses.FrozenInstanceError):
            rec.status = CandidateStatus.FAILED  # type: ignore[misc]
        d = json.loads(json.dumps(rec.to_dict()))
        assert d["status"] == "scored" and d["architecture"]["dense"] == [10]

    def test_integrity_after_writes(self, store: RunStore) -> None:
        for n in range(20):
            rec = store.add_candidate(arch(n), "scored", {"macs": n}, {"naswot": float(n)})
            store.add_measurement(rec.id, "latency", n * 0.5, "predicted")
        assert store.integrity_problems() == []

    def test_closed_store_is_a_clear_error(self, store: RunStore) -> None:
        store.close()
        with pytest.raises(StoreError, match="is closed; cannot read the candidates"):
            store.candidates()
        store.close()  # a second close does nothing
