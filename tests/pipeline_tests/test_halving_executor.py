"""Successive halving as the driver of an executor: a training that fails for good marks its
candidate failed with the error, and the rung goes on without it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.executor import Executor, InlineExecutor, TrainJob, TrainOutcome
from tinynas.pipeline._halving import successive_halving
from tinynas.space import Architecture, Pooling
from tinynas.store import CandidateStatus, RunStore
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig

pytestmark = pytest.mark.train


class FailingFor(Executor):
    """Runs jobs in this process, but the jobs of `candidate` fail as a dead worker's would."""

    backend = "test"
    workers = 1

    def __init__(self, *candidates: int) -> None:
        self.candidates = candidates
        self.seen: list[tuple[int, str]] = []

    def describe(self) -> str:
        return "test"

    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        for job in jobs:
            self.seen.append(job.key)
            if job.key[0] in self.candidates:
                yield TrainOutcome.failure(job.key, "test:1", "its worker process died 3 times")
            else:
                yield from InlineExecutor().run([job], data)


def _data() -> SplitData:
    rng = np.random.default_rng(0)
    x = rng.random((90, 8, 8, 1), np.float32)
    return SplitData(x[:60], np.arange(60) % 3, x[60:], np.arange(30) % 3, 3)


def _shortlist(store: RunStore) -> list:
    archs = [Architecture((8, 8, 1), 3, (serial(conv(c, 3)),), Pooling("avg", 2), ())
             for c in (2, 4, 6)]  # fmt: skip
    return [store.add_candidate(a, CandidateStatus.SCORED) for a in archs]


def test_a_training_that_fails_for_good_is_recorded_and_the_rung_goes_on(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", {}) as store:
        shortlist = _shortlist(store)
        executor = FailingFor(shortlist[0].id)
        winner = successive_halving(store, shortlist, _data(), TrainConfig(), 0.2, 0,
                                    executor=executor)  # fmt: skip
        failed = store.candidate(shortlist[0].id)
        assert failed.status is CandidateStatus.FAILED
        assert failed.reject_reason == ("training halving-0 failed: its worker process died "
                                        "3 times")  # fmt: skip
        assert winner.id != shortlist[0].id
        assert (shortlist[0].id, "halving-1") not in executor.seen  # dropped from the rung
        stages = [(t.candidate_id, t.stage) for t in store.trainings()]
        assert len(stages) == len(set(stages)) and all(c != shortlist[0].id for c, _ in stages)


def test_a_rung_whose_every_training_failed_is_one_line(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", {}) as store:
        shortlist = _shortlist(store)
        with pytest.raises(TinyNASError, match="every training of halving-0 failed"):
            successive_halving(store, shortlist, _data(), replace(TrainConfig()), 0.2, 0,
                               executor=FailingFor(*(r.id for r in shortlist)))  # fmt: skip
