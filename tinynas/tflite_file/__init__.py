"""Reading ``.tflite`` files without TensorFlow: structure verified first, then the main
subgraph's ops, shapes, types, params and arithmetic."""

from __future__ import annotations

from tinynas.tflite_file._model import (
    MAX_MODEL_BYTES,
    OpInfo,
    Shape,
    TFLiteModel,
    parse_tflite,
    read_tflite,
)
from tinynas.tflite_file._schema import enum_names, schema_module
from tinynas.tflite_file._verify import DAMAGED, verify_tflite
from tinynas.tflite_file._work import DATA_OPS, ELEMENT_OPS, MAC_OPS, OpWork, op_work

__all__ = [
    "DAMAGED",
    "DATA_OPS",
    "ELEMENT_OPS",
    "MAC_OPS",
    "MAX_MODEL_BYTES",
    "OpInfo",
    "OpWork",
    "Shape",
    "TFLiteModel",
    "enum_names",
    "op_work",
    "parse_tflite",
    "read_tflite",
    "schema_module",
    "verify_tflite",
]
