"""Deployment artifacts of a trained model: int8 ``.tflite``, C array and model card.

TensorFlow and torch are imported when a model is converted or loaded, not on import.
"""

from __future__ import annotations

from tinynas.export._card import CARD_SCHEMA, model_card, quantization_note, tool_versions
from tinynas.export._carray import (
    ALIGNMENT_BYTES,
    CArray,
    ModelFacts,
    c_identifier,
    header_text,
    source_text,
    write_c_array,
)
from tinynas.export._export import (
    OUTPUT_NAMES,
    ExportResult,
    check_out_dir,
    export_model,
    load_data,
    load_run,
    load_weights,
)
from tinynas.export._verify import MAX_DIFF_LSB, ExportError, Verification, verify_int8

__all__ = [
    "ALIGNMENT_BYTES",
    "CARD_SCHEMA",
    "MAX_DIFF_LSB",
    "OUTPUT_NAMES",
    "CArray",
    "ExportError",
    "ExportResult",
    "ModelFacts",
    "Verification",
    "c_identifier",
    "check_out_dir",
    "export_model",
    "header_text",
    "load_data",
    "load_run",
    "load_weights",
    "model_card",
    "quantization_note",
    "source_text",
    "tool_versions",
    "verify_int8",
    "write_c_array",
]
