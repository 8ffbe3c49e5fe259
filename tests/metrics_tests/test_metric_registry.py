"""The registry: lookup by name, options, listing, and the batch checks every metric shares."""

from __future__ import annotations

import numpy as np
import pytest

from tinynas.errors import TinyNASError
from tinynas.metrics import (
    COSTS,
    METRICS,
    MetricError,
    check_batch,
    get_metric,
    list_metrics,
)
from tinynas.metrics._naswot import NaswotMetric
from tinynas.space import Architecture
from tinynas.testing.metrics import random_batch, sample_archs


def test_get_metric_returns_a_new_instance_of_the_registered_class() -> None:
    first, second = get_metric("naswot"), get_metric("naswot")
    assert type(first) is NaswotMetric
    assert first is not second


def test_unknown_metric_names_the_choices() -> None:
    with pytest.raises(MetricError, match=r"unknown metric 'nasbot'.*naswot.*tinynas proxies"):
        get_metric("nasbot")


def test_unknown_option_names_the_options_the_metric_takes() -> None:
    with pytest.raises(MetricError, match=r"'zen' has no option colour; it takes batch_size"):
        get_metric("zen", colour="red")
    with pytest.raises(MetricError, match="takes no options"):
        get_metric("naswot", batch_size=4)


def test_metric_errors_are_tinynas_errors() -> None:
    assert issubclass(MetricError, TinyNASError)


def test_list_metrics_describes_every_metric_sorted() -> None:
    infos = list_metrics()
    assert [i.name for i in infos] == sorted(METRICS)
    by_name = {i.name: i for i in infos}
    assert by_name["naswot"].needs_data and by_name["naswot"].cost == "forward"
    assert not by_name["relu_count"].needs_data and by_name["relu_count"].cost == "analytic"
    assert by_name["learned"].cost == "fitted"
    assert by_name["zen"].options == ("batch_size", "repeats")
    assert "mu" in by_name["relu_count_penalized"].options
    assert all(i.cost in COSTS and i.description for i in infos)


def test_check_batch_converts_to_float32_and_int64() -> None:
    arch = sample_archs(1)[0]
    images, labels = random_batch()
    x, y = check_batch("m", arch, (images.astype(np.float64), labels.astype(np.int32)))
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((4, 28, 28)), np.zeros(4, int), r"\(4, 28, 28\); expected \(N, 28, 28, 1\)"),
        (np.zeros((1, 28, 28, 1)), np.zeros(1, int), "at least 2 samples"),
        (np.zeros((4, 28, 28, 1)), np.zeros(3, int), "must be 4 integers"),
        (np.zeros((4, 28, 28, 1)), np.zeros(4), "must be 4 integers"),
        (np.zeros((4, 28, 28, 1)), np.array([0, 1, 2, 10]), r"\[0, 10\); got \[0, 10\]"),
    ],
)
def test_check_batch_says_what_is_wrong(images: np.ndarray, labels: np.ndarray,
                                        message: str) -> None:
    arch = Architecture((28, 28, 1), 10, dense=(8,))
    with pytest.raises(MetricError, match=message):
        check_batch("naswot", arch, (images, labels))


def test_a_metric_that_needs_data_refuses_none() -> None:
    with pytest.raises(MetricError, match="metric 'naswot' needs a batch"):
        get_metric("naswot").score(sample_archs(1)[0], None)
