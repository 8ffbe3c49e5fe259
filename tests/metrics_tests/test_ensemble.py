"""ensemble: mean normalised rank over a population."""

from __future__ import annotations

import pytest

from tinynas.metrics import (
    BaseMetric,
    Batch,
    EnsembleMetric,
    MetricError,
    get_metric,
    mean_rank,
    normalised_ranks,
)
from tinynas.space import Architecture
from tinynas.testing.metrics import sample_archs

ARCHS = [Architecture((4,), 2, dense=(units,)) for units in (10, 20, 30)]


class _Table(BaseMetric):
    """A stand-in member with fixed scores per architecture (by hidden units)."""

    name = "table"
    description = "fixed scores"

    def __init__(self, scores: dict[int, float]) -> None:
        self.scores = scores

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return self.scores[arch.dense[0]]


MEMBERS = [
    _Table({10: 1.0, 20: 2.0, 30: 3.0}),  # ranks 1, 2, 3 -> 0, 0.5, 1
    _Table({10: 3.0, 20: 2.0, 30: 1.0}),  # -> 1, 0.5, 0
    _Table({10: 5.0, 20: 5.0, 30: 1.0}),  # ranks 2.5, 2.5, 1 -> 0.75, 0.75, 0
]


def test_normalised_ranks_average_ties_and_centre_a_single_score() -> None:
    assert list(normalised_ranks([5.0, 5.0, 1.0])) == [0.75, 0.75, 0.0]
    assert list(normalised_ranks([float("-inf"), 0.0])) == [0.0, 1.0]
    assert list(normalised_ranks([7.0])) == [0.5]


def test_ensemble_of_three_known_members_on_three_archs() -> None:
    ensemble = get_metric("ensemble", metrics=MEMBERS)
    expected = [(0 + 1 + 0.75) / 3, (0.5 + 0.5 + 0.75) / 3, (1 + 0 + 0) / 3]
    assert ensemble.score_population(ARCHS) == pytest.approx(expected)
    assert mean_rank([[1, 2, 3], [3, 2, 1], [5, 5, 1]]) == pytest.approx(expected)


def test_ensemble_of_registered_metrics_ranks_by_each() -> None:
    # more units: more params, more MACs and more ReLUs -> last rank under all three
    ensemble = get_metric("ensemble", metrics=("params", "macs", "relu_count"))
    assert ensemble.score_population(ARCHS) == pytest.approx([0.0, 0.5, 1.0])
    assert not ensemble.needs_data and ensemble.cost == "analytic"


def test_score_ranks_against_the_reference_population() -> None:
    ensemble = get_metric("ensemble", metrics=MEMBERS)
    assert isinstance(ensemble, EnsembleMetric)
    assert ensemble.score(ARCHS[0]) == 0.5  # no reference: a population of one
    ensemble.set_reference(ARCHS[1:])
    assert ensemble.score(ARCHS[0]) == pytest.approx(ensemble.score_population(ARCHS)[0])


def test_ensemble_takes_needs_data_and_cost_from_its_members() -> None:
    ensemble = get_metric("ensemble")
    assert ensemble.needs_data and ensemble.cost == "forward"
    with_grads = get_metric("ensemble", metrics=("relu_count", "snip"))
    assert with_grads.needs_data and with_grads.cost == "backward"


def test_ensemble_rejects_an_empty_or_unknown_member_list() -> None:
    with pytest.raises(MetricError, match="needs a list of metrics"):
        get_metric("ensemble", metrics=())
    with pytest.raises(MetricError, match="needs a list of metrics"):
        get_metric("ensemble", metrics="naswot")
    with pytest.raises(MetricError, match="unknown metric 'nope'"):
        get_metric("ensemble", metrics=("nope",))


def test_ensemble_of_an_empty_population_is_empty() -> None:
    assert get_metric("ensemble", metrics=("params",)).score_population([]) == []


def test_ensemble_of_a_needs_data_member_refuses_no_batch() -> None:
    with pytest.raises(MetricError, match="needs a batch"):
        get_metric("ensemble").score(sample_archs(1)[0], None)
