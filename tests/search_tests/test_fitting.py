"""Sampling until candidates fit: distinct, within the budget, seeded, and extendable."""

from __future__ import annotations

import random

from tinynas.devices import get_device
from tinynas.estimators import Budget, estimate
from tinynas.search import sample_fitting
from tinynas.space import sample

DEVICE = get_device("nucleo-l4r5zi")
BUDGET = Budget.for_device(DEVICE, max_ram_bytes=20_000, max_flash_bytes=40_000)


def _draw(rng: random.Random):  # type: ignore[no-untyped-def]
    return sample((28, 28, 1), 10, rng)


def test_every_sample_is_distinct_fits_and_carries_its_estimate() -> None:
    found = sample_fitting(_draw, random.Random(0), DEVICE, BUDGET, tries=400)
    assert len(found) >= 5
    assert len({arch.content_hash for arch, _ in found}) == len(found)
    for arch, est in found:
        assert est == estimate(arch, DEVICE) and BUDGET.violations(est) == []


def test_the_same_seed_gives_the_same_list_and_a_larger_count_extends_it() -> None:
    three = sample_fitting(_draw, random.Random(5), DEVICE, BUDGET, tries=2000, count=3)
    five = sample_fitting(_draw, random.Random(5), DEVICE, BUDGET, tries=2000, count=5)
    assert len(three) == 3 and len(five) == 5
    assert [a.content_hash for a, _ in five[:3]] == [a.content_hash for a, _ in three]


def test_a_budget_nothing_meets_gives_nothing() -> None:
    tiny = Budget(flash_bytes=100)
    assert sample_fitting(_draw, random.Random(0), DEVICE, tiny, tries=50) == []
