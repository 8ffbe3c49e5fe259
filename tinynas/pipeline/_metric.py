"""The run's ranker: `--metric auto` resolved from a kept proxy validation, and the metric
built with what it needs (the budget, or the validated architectures it is fitted on)."""

from __future__ import annotations

from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget
from tinynas.metrics import BaseMetric

# without a validation of the dataset: the registry metric whose top picks trained best in the
# Fashion-MNIST proxy validation (docs/benchmarks.md)
DEFAULT_METRIC = "params"
LEARNED_MIN_ARCHITECTURES = 10  # the learned ranker is fitted on at least this many


def resolve_metric(name: str, dataset: str) -> str:
    """'auto' -> the ranker the kept validation of this dataset (`tinynas proxies validate`)
    chose by its rule: one that beats macs and params, else the better of those two (a kept
    validation from before that rule: its best ranker); without a kept validation, the
    default metric."""
    if name != "auto":
        return name
    from tinynas.proxies import (
        auto_validated_ranker,
        best_validated_metric,
        best_validated_ranker,
    )

    chosen = auto_validated_ranker(dataset)
    if chosen is not None:
        return chosen
    best = best_validated_metric(dataset) or best_validated_ranker(dataset)
    if best is None or best == "ensemble":  # the ensemble ranks only against a population
        return DEFAULT_METRIC
    return best


def make_metric(name: str, device: Device, budget: Budget, dataset: str) -> BaseMetric:
    """The metric `name` ready to score: the penalised ReLU count knows the budget, the learned
    ranker is fitted on the kept validation of `dataset`."""
    from tinynas.metrics import get_metric

    if name == "relu_count_penalized":
        return get_metric(name, device=device, budget=budget)
    if name == "learned":
        from tinynas.metrics import LearnedMetric
        from tinynas.proxies import learned_ranker_proxies, validated_scores

        proxies = learned_ranker_proxies(dataset)
        archs, accuracies, scores = validated_scores(dataset, proxies)
        if len(archs) < LEARNED_MIN_ARCHITECTURES:
            raise TinyNASError(f"the learned ranker needs a kept validation of {dataset}; run "
                               "tinynas proxies validate first, or choose another --metric")
        ranker = get_metric("learned", proxies=proxies)
        assert isinstance(ranker, LearnedMetric)
        return ranker.fit(archs, accuracies, scores)
    return get_metric(name)
