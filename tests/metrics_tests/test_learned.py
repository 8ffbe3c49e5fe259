"""The learned ranker and the architecture encoding."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import kendalltau

from tinynas.estimators import params
from tinynas.metrics import (
    LearnedMetric,
    MetricError,
    NotFittedError,
    encode,
    encoding_names,
    feature_names,
    features,
    get_metric,
)
from tinynas.space import Architecture, ConvBlock, ConvLayer
from tinynas.testing.metrics import sample_archs


def _accuracy(arch: Architecture) -> float:
    """A synthetic target: accuracy grows with log params and saturates."""
    return 1 - 0.5 * math.exp(-math.log(params(arch)) / 4)


def test_learned_ranks_held_out_archs_like_the_target() -> None:
    archs = sample_archs(90, seed=11)
    train, held_out = archs[:60], archs[60:]
    metric = get_metric("learned")
    assert isinstance(metric, LearnedMetric)
    metric.fit(train, [_accuracy(a) for a in train])
    predicted = metric.score_population(held_out)
    tau = kendalltau(predicted, [_accuracy(a) for a in held_out]).statistic
    assert tau > 0.7


def test_learned_refuses_to_score_before_fit() -> None:
    metric = get_metric("learned")
    with pytest.raises(NotFittedError, match="not fitted; call fit"):
        metric.score(sample_archs(1)[0])
    with pytest.raises(NotFittedError):
        metric.score_population(sample_archs(2))


def test_learned_fit_checks_its_inputs() -> None:
    archs = sample_archs(3)
    metric = get_metric("learned")
    with pytest.raises(MetricError, match="3 candidates and 2 accuracies"):
        metric.fit(archs, [0.5, 0.6])  # type: ignore[attr-defined]
    with pytest.raises(MetricError, match="non-finite accuracy"):
        metric.fit(archs, [0.5, float("nan"), 0.7])  # type: ignore[attr-defined]


def _batch(arch: Architecture, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.random((n, *arch.input_shape), dtype=np.float32),
            np.arange(n) % arch.num_classes)


def test_a_proxy_feature_carries_what_the_analytic_features_lack() -> None:
    archs = sample_archs(80, seed=5)
    batch = _batch(archs[0])
    naswot = get_metric("naswot")
    proxy = np.array([naswot.score(a, batch) for a in archs])
    target = np.argsort(np.argsort(proxy)) / len(archs)  # accuracy ordered as naswot alone
    plain = get_metric("learned", n_estimators=100)
    with_proxy = get_metric("learned", n_estimators=100, proxies=("naswot",))
    plain.fit(archs[:60], target[:60])  # type: ignore[attr-defined]
    with_proxy.fit(archs[:60], target[:60], proxy[:60, None])  # type: ignore[attr-defined]
    held = archs[60:]
    tau_plain = kendalltau(plain.score_population(held), target[60:]).statistic
    scored = with_proxy.score_population(held, batch)
    assert scored == with_proxy.predict_with(held, proxy[60:, None])  # type: ignore[attr-defined]
    assert kendalltau(scored, target[60:]).statistic > max(0.8, tau_plain + 0.2)
    assert with_proxy.score(held[0], batch) == scored[0]
    with pytest.raises(MetricError, match=r"its proxies \(naswot\) need a batch"):
        with_proxy.score(held[0])
    with pytest.raises(MetricError, match="needs the scores of its proxies"):
        get_metric("learned", proxies=("naswot",)).fit(  # type: ignore[attr-defined]
            archs[:5], target[:5])


def test_a_failed_proxy_score_is_a_value_below_every_fitted_one() -> None:
    archs = sample_archs(12, seed=8)
    scores = np.linspace(1.0, 100.0, 12)[:, None]
    metric = get_metric("learned", n_estimators=20, proxies=("naswot",))
    metric.fit(archs, np.linspace(0.5, 0.9, 12), scores)  # type: ignore[attr-defined]
    failed = metric.predict_with(archs[:1], np.array([[math.nan]]))  # type: ignore[attr-defined]
    lowest = metric.predict_with(archs[:1], np.array([[-1e9]]))  # type: ignore[attr-defined]
    assert math.isfinite(failed[0]) and failed == lowest


def test_the_same_fit_gives_the_same_scores() -> None:
    archs = sample_archs(20, seed=3)
    accs = [_accuracy(a) for a in archs]
    a = get_metric("learned", n_estimators=30).fit(archs, accs)  # type: ignore[attr-defined]
    b = get_metric("learned", n_estimators=30).fit(archs, accs)  # type: ignore[attr-defined]
    assert a.score_population(archs) == b.score_population(archs)


def test_encoding_has_a_name_per_entry_and_fixed_length() -> None:
    archs = sample_archs(5, seed=8)
    vectors = [encode(a) for a in archs]
    assert len({len(v) for v in vectors}) == 1
    assert len(vectors[0]) == len(encoding_names()) == len(set(encoding_names()))
    assert len(features(archs[0])) == len(feature_names())


def test_encoding_reads_the_layers_into_their_slots() -> None:
    layer = ConvLayer("conv2d", 5, 7, stride=2, batch_norm=True)
    arch = Architecture((28, 28, 1), 10, blocks=(ConvBlock((layer,)),), dense=(15,))
    v = dict(zip(encoding_names(), encode(arch)))
    assert (v["b0_present"], v["b0l0_present"], v["b0l0_conv2d"]) == (1, 1, 1)
    assert (v["b0l0_kernel"], v["b0l0_stride"], v["b0l0_batch_norm"]) == (5, 2, 1)
    assert v["b0l0_log2_filters"] == pytest.approx(3.0)
    assert (v["b0l1_present"], v["b1_present"], v["b1l0_kernel"]) == (0, 0, 0)
    assert v["d0_log2_units"] == pytest.approx(4.0) and v["d1_present"] == 0
    assert v["log2_head_inputs"] == pytest.approx(math.log2(1 + 14 * 14 * 7))
    wider = replace(arch, blocks=(ConvBlock((replace(layer, filters=8),)),))
    diff = encode(wider) - encode(arch)
    changed = {n for n, d in zip(encoding_names(), diff) if d != 0}
    assert "b0l0_log2_filters" in changed and "b0l0_kernel" not in changed
    assert np.all(np.isfinite(encode(wider)))
