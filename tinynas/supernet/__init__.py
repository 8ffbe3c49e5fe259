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
    config_count,
    extract,
    subnet_architecture,
)
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
    "SupernetSpace",
    "build_supernet",
    "config_count",
    "extract",
    "recalibrate",
    "sample_config",
    "subnet_architecture",
    "train_supernet",
]
