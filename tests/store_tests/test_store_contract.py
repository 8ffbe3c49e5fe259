"""The run-store contract, run against a store in memory and a store in a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tinynas.store import CandidateStatus, RunStore
from tinynas.testing.store import STORE_MODES, StoreTestCase, create_store


@pytest.fixture(params=STORE_MODES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    with create_store(request.param, tmp_path) as s:
        yield s


class TestRunStore(StoreTestCase):
    pass


def test_only_proposed_and_training_are_unfinished() -> None:
    unfinished = {s for s in CandidateStatus if not s.is_finished()}
    assert unfinished == {CandidateStatus.PROPOSED, CandidateStatus.TRAINING}
