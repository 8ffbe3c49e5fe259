"""Successive halving: rungs double the epochs, halve the field, and stop at one survivor."""

from __future__ import annotations

import pytest

from tinynas.data import SplitData, load_dataset
from tinynas.pipeline import successive_halving
from tinynas.space import Architecture, Pooling
from tinynas.store import CandidateStatus, RunStore
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig

pytestmark = pytest.mark.train


def _data() -> SplitData:
    ds = load_dataset("digits")
    return SplitData(ds.x_train[:400], ds.y_train[:400], ds.x_train[400:600],
                     ds.y_train[400:600], ds.num_classes)


def _shortlist(store: RunStore, n: int) -> list:
    archs = [Architecture((8, 8, 1), 10, (serial(conv(2 + 3 * i, 3)),), Pooling("avg", 2),
                          (16,)) for i in range(n)]  # fmt: skip
    return [store.add_candidate(a, CandidateStatus.SCORED, {}, {"m": 0.0}) for a in archs]


def test_halving_trains_each_rung_and_not_the_last_survivor() -> None:
    store = RunStore.memory()
    shortlist = _shortlist(store, 4)
    winner = successive_halving(store, shortlist, _data(), TrainConfig(batch_size=64), 0.25, 0)
    trainings = store.trainings()
    by_stage: dict[str, dict[int, float]] = {}
    for t in trainings:
        by_stage.setdefault(t.stage, {})[t.candidate_id] = t.val_accuracy
    assert set(by_stage) == {"halving-0", "halving-1"}  # 4 -> 2 -> the winner, untrained
    assert set(by_stage["halving-0"]) == {r.id for r in shortlist}
    best_two = sorted(by_stage["halving-0"], key=lambda i: -by_stage["halving-0"][i])[:2]
    assert set(by_stage["halving-1"]) == set(best_two)
    assert winner.id == max(by_stage["halving-1"], key=lambda i: by_stage["halving-1"][i])
    assert {t.epochs for t in trainings if t.stage == "halving-1"} == {0.5}


def test_a_shortlist_of_one_is_trained_once() -> None:
    store = RunStore.memory()
    (only,) = _shortlist(store, 1)
    assert successive_halving(store, [only], _data(), TrainConfig(batch_size=64), 0.25, 0) \
        .id == only.id  # fmt: skip
    assert [t.stage for t in store.trainings()] == ["halving-0"]
