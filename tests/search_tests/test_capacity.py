"""Capacity picks: regular networks that fit the budget, most capacity first, one per family."""

from __future__ import annotations

from tinynas.devices import get_device
from tinynas.estimators import Budget, estimate
from tinynas.search import SearchSpace, capacity, capacity_picks, family

DEVICE = get_device("nucleo-l4r5zi")
SPACE = SearchSpace((28, 28, 1), 10)
# μNAS's Fashion-MNIST constraints (reference/search-and-metrics.md section 1)
UNAS = Budget.for_device(DEVICE, max_unas_peak_bytes=12_600, max_unas_size_bytes=64_000)


def test_picks_fit_the_budget_and_come_most_capacity_first() -> None:
    picks = capacity_picks(SPACE, DEVICE, UNAS, 4, seed=0, samples=1500)
    assert len(picks) == 4
    for arch, est in picks:
        assert UNAS.violations(estimate(arch, DEVICE)) == []
        assert est == estimate(arch, DEVICE)
    keys = [capacity(est) for _, est in picks]
    assert keys == sorted(keys, reverse=True)
    assert len({family(arch) for arch, _ in picks}) == 4


def test_the_first_pick_uses_most_of_the_budget() -> None:
    (arch, est), = capacity_picks(SPACE, DEVICE, UNAS, 1, seed=0, samples=1500)
    # both limits bind: the pick uses over half of the parameters and of the μNAS peak
    assert est.params > 32_000 and est.unas_peak_bytes > 6_300
    assert est.macs > 1_000_000


def test_a_tighter_budget_gives_smaller_picks() -> None:
    tight = Budget.for_device(DEVICE, max_unas_peak_bytes=4_000, max_unas_size_bytes=8_000)
    (_, small), = capacity_picks(SPACE, DEVICE, tight, 1, seed=0, samples=1500)
    (_, large), = capacity_picks(SPACE, DEVICE, UNAS, 1, seed=0, samples=1500)
    assert small.params <= 8_000 and small.unas_peak_bytes <= 4_000
    assert capacity(small) < capacity(large)


def test_picks_are_seeded() -> None:
    first = capacity_picks(SPACE, DEVICE, UNAS, 3, seed=5, samples=500)
    assert capacity_picks(SPACE, DEVICE, UNAS, 3, seed=5, samples=500) == first
    assert capacity_picks(SPACE, DEVICE, UNAS, 3, seed=6, samples=500) != first
    assert capacity_picks(SPACE, DEVICE, UNAS, 0, seed=5) == []
