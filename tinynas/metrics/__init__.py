"""Trainingless metrics behind one registry: ``get_metric(name, **options).score(arch, ...)``.

Every metric is oriented so that a higher score is better; every score is a prediction of
trained accuracy, never a measurement. Torch and scikit-learn are imported only when a metric
that needs them scores, so importing this package is cheap.
"""

from __future__ import annotations

from tinynas.metrics._base import (
    COSTS,
    METRICS,
    BaseMetric,
    Batch,
    MetricError,
    MetricInfo,
    NotFittedError,
    check_batch,
    get_metric,
    list_metrics,
)
from tinynas.metrics._baselines import MacsMetric, ParamsMetric
from tinynas.metrics._encoding import encode, encoding_names
from tinynas.metrics._ensemble import EnsembleMetric, mean_rank, normalised_ranks
from tinynas.metrics._epe_nas import EpeNasMetric
from tinynas.metrics._gradients import FisherMetric, GradNormMetric, GraspMetric, SnipMetric
from tinynas.metrics._jacob_cov import JacobCovMetric
from tinynas.metrics._learned import LearnedMetric, feature_names, features
from tinynas.metrics._meco import MecoMetric, meco_score
from tinynas.metrics._naswot import NaswotMetric
from tinynas.metrics._relu_count import (
    PENALTY_SHAPES,
    ReluCountMetric,
    ReluCountPenalizedMetric,
    penalty,
    relu_units,
)
from tinynas.metrics._swap import SwapMetric, swap_score
from tinynas.metrics._synflow import SynflowMetric
from tinynas.metrics._zen import ZenMetric
from tinynas.metrics._zico import ZicoMetric, zico_score

__all__ = [
    "COSTS",
    "METRICS",
    "PENALTY_SHAPES",
    "BaseMetric",
    "Batch",
    "EnsembleMetric",
    "EpeNasMetric",
    "FisherMetric",
    "GradNormMetric",
    "GraspMetric",
    "JacobCovMetric",
    "LearnedMetric",
    "MacsMetric",
    "MetricError",
    "MetricInfo",
    "MecoMetric",
    "NaswotMetric",
    "NotFittedError",
    "ParamsMetric",
    "ReluCountMetric",
    "ReluCountPenalizedMetric",
    "SnipMetric",
    "SwapMetric",
    "SynflowMetric",
    "ZenMetric",
    "ZicoMetric",
    "check_batch",
    "encode",
    "encoding_names",
    "feature_names",
    "features",
    "get_metric",
    "list_metrics",
    "mean_rank",
    "meco_score",
    "normalised_ranks",
    "penalty",
    "relu_units",
    "swap_score",
    "zico_score",
]
