"""The baselines every proxy study must report: parameter count and MACs.

Both are notoriously strong predictors of trained accuracy (reference section 3: on
NAS-Bench-101 they beat every proxy), and both are the estimators' own figures.
"""

from __future__ import annotations

from tinynas import estimators
from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture


@register
class ParamsMetric(BaseMetric):
    """Trainable parameters of the float network (``tinynas.estimators.params``)."""

    name = "params"
    needs_data = False
    cost = "analytic"
    description = "trainable parameters (baseline)"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return float(estimators.params(arch))


@register
class MacsMetric(BaseMetric):
    """Multiply-accumulates of one inference (``tinynas.estimators.macs``)."""

    name = "macs"
    needs_data = False
    cost = "analytic"
    description = "multiply-accumulates of one inference (baseline)"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return float(estimators.macs(arch))
