"""``MetricTestCase``: the behaviour every trainingless metric must have.

Like optuna's ``BasicSamplerTestCase``: a test class inherits the suite and supplies a
``metric`` fixture, usually parametrized over the registry (a fixture defined on the class
overrides the suite's)::

    class TestEveryMetric(MetricTestCase):
        @pytest.fixture(params=sorted(METRICS))
        def metric(self, request):
            return get_metric(request.param)

The suite scores three small sampled architectures (:func:`sample_archs`) on a batch of eight
random 28x28x1 images with labels (:func:`random_batch`); override the ``archs`` or ``batch``
fixtures to use others.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tinynas.metrics import (
    COSTS,
    METRICS,
    BaseMetric,
    Batch,
    EnsembleMetric,
    MetricError,
)
from tinynas.space import Architecture, SpaceConfig, sample

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
SMALL_SPACE = SpaceConfig(max_blocks=3, max_filters=16, max_units=32)


def sample_archs(n: int = 3, seed: int = 0) -> list[Architecture]:
    """`n` small architectures of :data:`SMALL_SPACE` for 28x28x1 inputs and 10 classes."""
    rng = random.Random(seed)
    return [sample(INPUT_SHAPE, NUM_CLASSES, rng, SMALL_SPACE) for _ in range(n)]


def random_batch(n: int = 8, seed: int = 0) -> Batch:
    """`n` uniform random 28x28x1 float32 images in [0, 1) and int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, *INPUT_SHAPE), dtype=np.float32)
    return images, rng.integers(0, NUM_CLASSES, n).astype(np.int64)


def _is_valid(metric: BaseMetric, value: float) -> bool:
    return math.isfinite(value) or value == metric.degenerate_value


class MetricTestCase:
    """The contract of :class:`tinynas.metrics.BaseMetric`; needs a ``metric`` fixture."""

    @pytest.fixture
    def metric(self) -> BaseMetric:
        raise NotImplementedError("a MetricTestCase needs a 'metric' fixture")

    @pytest.fixture
    def archs(self) -> list[Architecture]:
        return sample_archs()

    @pytest.fixture
    def batch(self) -> Batch:
        return random_batch()

    def test_declares_its_contract(self, metric: BaseMetric) -> None:
        assert METRICS.get(metric.name) is type(metric)
        assert metric.cost in COSTS
        assert isinstance(metric.needs_data, bool)
        assert metric.description.strip()
        assert metric.higher_is_better is True

    def test_scores_are_floats_finite_or_the_documented_degenerate_value(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        for arch in archs:
            value = metric.score(arch, batch, seed=0)
            assert type(value) is float
            assert _is_valid(metric, value), f"{metric.name} gave {value} for {arch.to_json()}"

    def test_is_deterministic_for_a_fixed_seed(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        first = [metric.score(arch, batch, seed=3) for arch in archs]
        again = [metric.score(arch, batch, seed=3) for arch in archs]
        assert first == again

    def test_respects_needs_data(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        if metric.needs_data:
            with pytest.raises(MetricError, match="needs a batch"):
                metric.score(archs[0], None, seed=0)
        else:
            other = random_batch(seed=99)
            with_data = metric.score(archs[0], batch, seed=0)
            assert metric.score(archs[0], None, seed=0) == with_data
            assert metric.score(archs[0], other, seed=0) == with_data

    def test_rejects_a_batch_of_another_shape(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        if not metric.needs_data:
            pytest.skip("a metric without data ignores the batch")
        images, labels = batch
        with pytest.raises(MetricError, match="shape"):
            metric.score(archs[0], (images[:, :14], labels), seed=0)

    def test_leaves_the_torch_rng_grad_mode_and_threads_alone(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        torch = pytest.importorskip("torch")
        state, threads = torch.get_rng_state(), torch.get_num_threads()
        with torch.no_grad():
            metric.score(archs[0], batch, seed=0)
            assert not torch.is_grad_enabled()
        assert torch.is_grad_enabled()
        assert torch.equal(torch.get_rng_state(), state)
        assert torch.get_num_threads() == threads

    def test_score_population_matches_score(
        self, metric: BaseMetric, archs: list[Architecture], batch: Batch
    ) -> None:
        population = metric.score_population(archs, batch, seed=0)
        assert len(population) == len(archs)
        assert all(_is_valid(metric, v) for v in population)
        if not isinstance(metric, EnsembleMetric):  # ranks within the population instead
            assert population == [metric.score(arch, batch, seed=0) for arch in archs]
