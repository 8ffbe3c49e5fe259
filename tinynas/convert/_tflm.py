"""Running a model in the TFLite Micro interpreter and reading its arena.

The `tflite-micro` wheel is TFLM built for x86 with reference kernels. Its interpreter has no
arena getter: `print_allocations()` writes the RecordingMicroAllocator report to the C-level
stderr, which is captured here at the file-descriptor level. On x86 pointers are 8 bytes, so the
figure is a little larger than the same model's arena on a 32-bit Cortex-M.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynas.errors import ConversionError
from tinynas.native import capture_fd2

DEFAULT_ARENA_BYTES = 4 << 20

_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_KIND = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead "
                   r"\(requested (\d+) bytes for (\d+)")


@dataclass(frozen=True)
class ArenaReport:
    """TFLM's own account of the arena after AllocateTensors (measured, x86 build)."""

    total_bytes: int
    head_bytes: int  # planned tensors and scratch buffers (non-persistent)
    tail_bytes: int  # persistent: eval tensors, node structs, op data, quantisation
    kinds: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # used, requested, count


def _interpreter(model: bytes, arena_bytes: int) -> Any:
    from tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(model, arena_size=arena_bytes)
    except Exception as e:  # raised as RuntimeError or ValueError depending on the failure
        raise ConversionError(f"TFLM could not load the model: {_first_line(e)}") from e


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def measure_arena(model: bytes, arena_bytes: int = DEFAULT_ARENA_BYTES) -> ArenaReport:
    """The arena TFLM allocates for `model` (RecordingMicroAllocator total)."""
    interp = _interpreter(model, arena_bytes)
    text = capture_fd2(interp.print_allocations)
    totals = {k: int(v) for k, v in _TOTAL.findall(text)}
    if "total" not in totals:
        raise ConversionError("TFLM printed no allocation report for the model")
    kinds = {k: (int(u), int(r), int(n)) for k, u, r, n in _KIND.findall(text)}
    return ArenaReport(totals["total"], totals.get("head", 0), totals.get("tail", 0), kinds)


def run_tflm(model: bytes, inputs: np.ndarray,
             arena_bytes: int = DEFAULT_ARENA_BYTES) -> np.ndarray:
    """Runs each input (already int8, shape (N, *input_shape)) through TFLM; returns outputs."""
    interp = _interpreter(model, arena_bytes)
    outs = []
    for x in inputs:
        interp.set_input(x[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0))[0])
        interp.reset()
    return np.stack(outs)
