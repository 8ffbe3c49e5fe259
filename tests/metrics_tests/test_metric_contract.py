"""Every registered metric passes the MetricTestCase contract suite."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

from tinynas.estimators import params
from tinynas.metrics import METRICS, BaseMetric, get_metric
from tinynas.testing.metrics import MetricTestCase, sample_archs

EXPECTED = {
    "naswot", "relu_count", "relu_count_penalized", "synflow", "snip", "grad_norm", "fisher",
    "grasp", "jacob_cov", "zen", "epe_nas", "params", "macs", "ensemble", "learned", "zico",
    "swap", "meco",
}


def test_the_registry_holds_every_metric() -> None:
    assert set(METRICS) == EXPECTED


class TestEveryMetric(MetricTestCase):
    @pytest.fixture(params=sorted(EXPECTED))
    def metric(self, request: pytest.FixtureRequest) -> BaseMetric:
        if request.param == "learned":
            train = sample_archs(12, seed=5)
            learned = get_metric("learned", n_estimators=20)
            return learned.fit(train, [math.log(params(a)) for a in train])  # type: ignore[attr-defined]
        return get_metric(request.param)
