"""The architecture space: description, lowering, validity, sampling, morphisms, builders.

Builders that need torch or TensorFlow are imported from their modules
(`tinynas.space.torch_builder`, `tinynas.space.keras_builder`) so that this package stays light.
"""

from __future__ import annotations

from tinynas.space._arch import (
    SCHEMA,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
)
from tinynas.space._graph import Node, lower
from tinynas.space._validate import problems, validate

__all__ = [
    "SCHEMA",
    "Architecture",
    "ConvBlock",
    "ConvLayer",
    "Node",
    "Pooling",
    "canonical",
    "lower",
    "problems",
    "validate",
]
