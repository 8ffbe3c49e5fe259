"""A weight-sharing supernet of the regular space (Once-for-All's elastic depth, width and
kernel size) trained once by progressive shrinking, and the sub-networks it holds as ordinary
architectures with their inherited, recalibrated weights."""

from __future__ import annotations

from tinynas.supernet._elastic import (
    DEPTHS,
    KERNELS,
    SubnetConfig,
    SupernetSpace,
    build_supernet,
    channel_importance,
    config_count,
    extract,
    sort_channels,
    subnet_architecture,
)
from tinynas.supernet._ranker import SupernetMetric, inherited_accuracy
from tinynas.supernet._schema import SupernetSchema, config_of
from tinynas.supernet._train import (
    PHASES,
    SupernetRecipe,
    recalibrate,
    sample_config,
    train_supernet,
)

__all__ = [
    "DEPTHS",
    "KERNELS",
    "PHASES",
    "SubnetConfig",
    "SupernetRecipe",
    "SupernetMetric",
    "SupernetSchema",
    "SupernetSpace",
    "build_supernet",
    "channel_importance",
    "config_count",
    "config_of",
    "extract",
    "inherited_accuracy",
    "recalibrate",
    "sample_config",
    "sort_channels",
    "subnet_architecture",
    "train_supernet",
]
