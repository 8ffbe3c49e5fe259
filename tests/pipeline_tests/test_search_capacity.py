"""A search with capacity picks: the picks are stored, scored and trained; found again on
resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinynas.devices import get_device
from tinynas.estimators import Budget
from tinynas.metrics import get_metric
from tinynas.pipeline import SearchConfig, run_search
from tinynas.pipeline._costs import _shortlist
from tinynas.pipeline._plan import RunPlan, Settings
from tinynas.search import SearchSpace, capacity_picks
from tinynas.store import RunStore

DEVICE = get_device("stm32")
BUDGET = Budget.for_device(DEVICE, max_ram_bytes=16_000)
SPACE = SearchSpace((8, 8, 1), 10)  # digits

pytestmark = pytest.mark.slow  # capacity picks sample thousands of networks: seconds a test


def _config(out: Path) -> SearchConfig:
    return SearchConfig(device="stm32", out=out, dataset="digits", strategy="random",
                        metric="relu_count", candidates=20, max_ram_bytes=16_000, shortlist=3,
                        capacity_picks=1, halving_epochs=0.2, epochs=0.5, train_subset=300)


def test_capacity_records_are_stored_once_and_found_again(tmp_path: Path) -> None:
    config = _config(tmp_path / "run")
    batch = (np.zeros((4, 8, 8, 1), np.float32), np.zeros(4, np.int64))
    store = RunStore.memory()
    plan = RunPlan(Settings(1, 1, 0.2, 0.5, False))
    first = _shortlist(store, config, SPACE, DEVICE, BUDGET, get_metric("relu_count"), [],
                       batch, plan)
    again = _shortlist(store, config, SPACE, DEVICE, BUDGET, get_metric("relu_count"), [],
                       batch, plan)
    (arch, _), = capacity_picks(SPACE, DEVICE, BUDGET, 1, config.seed)
    assert [r.hash for r in first] == [arch.content_hash]
    assert [r.id for r in again] == [r.id for r in first] and store.count() == 1
    assert store.get_meta("capacity_picks") == [first[0].id]
    assert first[0].scores["relu_count"] > 0


@pytest.mark.train
def test_a_capacity_pick_joins_the_shortlist_and_is_trained(tmp_path: Path) -> None:
    config = _config(tmp_path / "run")
    summary = run_search(config)
    (arch, est), = capacity_picks(SPACE, DEVICE, BUDGET, 1, config.seed)
    with RunStore.open(config.out, writable=False) as store:
        (pick_id,) = store.get_meta("capacity_picks")
        pick = store.candidate(pick_id)
        halving = {t.candidate_id for t in store.trainings() if t.stage == "halving-0"}
        count = store.count()
    assert pick.hash == arch.content_hash and pick.estimates["macs"] == est.macs
    assert pick_id in halving and len(halving) == 3  # two by score, one capacity pick
    assert count == summary.evaluated == 21  # the explored candidates and the pick
