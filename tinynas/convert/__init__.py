"""Conversion to int8 TFLite and its verification in TFLite Micro (TensorFlow imported lazily)."""

from __future__ import annotations

from tinynas.convert._tflite import strip_strings, to_int8_tflite
from tinynas.convert._tflm import ArenaReport, measure_arena, run_tflm

__all__ = ["ArenaReport", "measure_arena", "run_tflm", "strip_strings", "to_int8_tflite"]
