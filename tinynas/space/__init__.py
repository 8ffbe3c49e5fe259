"""The architecture space: description, lowering, validity, sampling, morphisms, builders.

The builders that need torch or TensorFlow live in `tinynas.space.torch_builder` and
`tinynas.space.keras_builder`, imported on use, so that this package stays light.
"""

from __future__ import annotations

from tinynas.space._arch import (
    GLOBAL_POOL_SIZE,
    KERNEL_SIZES,
    LAYER_TYPES,
    MAX_BLOCKS,
    MAX_CLASSES,
    MAX_DENSE,
    MAX_FILTERS,
    MAX_INPUT_ELEMENTS,
    MAX_LAYERS_PER_BLOCK,
    MAX_UNITS,
    POOL_SIZES,
    POOL_TYPES,
    SCHEMA,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
    data_mismatch,
    read_architecture,
    read_architecture_lines,
)
from tinynas.space._graph import Node, lower, merged_names
from tinynas.space._mutate import MORPHISMS, mutate
from tinynas.space._regular import sample_regular
from tinynas.space._sample import SpaceConfig, sample
from tinynas.space._validate import problems, validate

__all__ = [
    "KERNEL_SIZES",
    "LAYER_TYPES",
    "MAX_BLOCKS",
    "MAX_CLASSES",
    "MAX_DENSE",
    "MAX_FILTERS",
    "MAX_INPUT_ELEMENTS",
    "MAX_LAYERS_PER_BLOCK",
    "MAX_UNITS",
    "MORPHISMS",
    "GLOBAL_POOL_SIZE",
    "POOL_SIZES",
    "POOL_TYPES",
    "SCHEMA",
    "Architecture",
    "ConvBlock",
    "ConvLayer",
    "Node",
    "Pooling",
    "SpaceConfig",
    "canonical",
    "data_mismatch",
    "lower",
    "merged_names",
    "mutate",
    "problems",
    "read_architecture",
    "read_architecture_lines",
    "sample",
    "sample_regular",
    "validate",
]
