"""A weight-sharing supernet of the regular space (Once-for-All's elastic depth, width and
kernel size), and the sub-networks it holds as ordinary architectures."""

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

__all__ = [
    "DEPTHS",
    "KERNELS",
    "SubnetConfig",
    "SupernetSpace",
    "build_supernet",
    "config_count",
    "extract",
    "subnet_architecture",
]
