"""Conversion to int8 TFLite and its verification in TFLite Micro (TensorFlow imported lazily).

TFLite Micro runs in a worker process (``_worker``): a model that crashes it raises
:class:`TFLMCrashError`, one line, and the calling process lives on.
"""

from __future__ import annotations

from tinynas.convert._pipeline import (
    Conversion,
    convert_architecture,
    input_quantization,
    litert_reference,
    quantize_input,
)
from tinynas.convert._tflite import strip_strings, to_int8_tflite
from tinynas.convert._tflm import (
    DEFAULT_ARENA_BYTES,
    MAX_ARENA_BYTES,
    ArenaReport,
    TFLMModel,
    load_tflm,
    measure_arena,
    run_tflm,
)
from tinynas.convert._worker import TFLMCrashError, TFLMRefused
from tinynas.convert._worker import prestart as start_tflm_worker

__all__ = [
    "DEFAULT_ARENA_BYTES",
    "MAX_ARENA_BYTES",
    "ArenaReport",
    "Conversion",
    "TFLMCrashError",
    "TFLMModel",
    "TFLMRefused",
    "convert_architecture",
    "input_quantization",
    "litert_reference",
    "load_tflm",
    "measure_arena",
    "quantize_input",
    "run_tflm",
    "start_tflm_worker",
    "strip_strings",
    "to_int8_tflite",
]
