"""Conversion to int8 TFLite and its verification in TFLite Micro (TensorFlow imported lazily)."""

from __future__ import annotations

from tinynas.convert._pipeline import (
    Conversion,
    convert_architecture,
    input_quantization,
    litert_reference,
    quantize_input,
)
from tinynas.convert._tflite import strip_strings, to_int8_tflite
from tinynas.convert._tflm import ArenaReport, measure_arena, run_tflm

__all__ = [
    "ArenaReport",
    "Conversion",
    "convert_architecture",
    "input_quantization",
    "litert_reference",
    "measure_arena",
    "quantize_input",
    "run_tflm",
    "strip_strings",
    "to_int8_tflite",
]
