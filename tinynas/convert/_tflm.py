"""Running a model in the TFLite Micro interpreter and reading its arena.

The `tflite-micro` wheel is TFLM built for x86 with reference kernels. Its interpreter has no
arena getter: `print_allocations()` writes the RecordingMicroAllocator report to the C-level
stderr, which is captured at the file-descriptor level. It is the host's figure: on x86
pointers are 8 bytes, so TFLM's own structures take less room on a 32-bit Cortex-M, but
optimized kernels such as CMSIS-NN ask for scratch buffers the reference kernels do not, so a
Cortex-M arena may be smaller or larger (`tinynas.estimators.cortex_m_file_arena` estimates it).

Every model is checked by :func:`tinynas.tflite_file.verify_tflite` first, and the interpreter
runs in a worker process (:mod:`tinynas.convert._worker`): a model that crashes TFLite Micro is
one :class:`~tinynas.errors.ModelFileError` line, never the death of the calling process.

The arena is measured in a buffer of ``DEFAULT_ARENA_BYTES`` first; a model that needs more is
measured again in a buffer four times larger, up to ``MAX_ARENA_BYTES``, far above any
microcontroller's SRAM. A model that needs more than that gets an :class:`ArenaReport` whose
``exceeds`` says that ``total_bytes`` is only a lower bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tinynas.convert._worker import (
    LOAD_TIMEOUT_S,
    TFLMRefused,
    TFLMWorker,
    invoke_timeout_s,
    worker,
)
from tinynas.errors import ConversionError
from tinynas.tflite_file import parse_tflite, verify_tflite

DEFAULT_ARENA_BYTES = 4 << 20
MAX_ARENA_BYTES = 256 << 20  # no microcontroller has a thousandth of it as SRAM

_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_KIND = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead "
                   r"\(requested (\d+) bytes for (\d+)")


@dataclass(frozen=True)
class ArenaReport:
    """TFLM's own account of the arena after AllocateTensors (measured, x86 build).

    With ``exceeds`` set, TFLM could not allocate the model even in ``MAX_ARENA_BYTES``:
    ``total_bytes`` is that buffer's size, and the arena needs more.
    """

    total_bytes: int
    head_bytes: int  # planned tensors and scratch buffers (non-persistent)
    tail_bytes: int  # persistent: eval tensors, node structs, op data, quantisation
    kinds: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # used, requested, count
    exceeds: bool = False


def measure_arena(model: bytes, arena_bytes: int = DEFAULT_ARENA_BYTES, *,
                  name: str = "the model") -> ArenaReport:  # fmt: skip
    """The arena TFLM allocates for `model` (RecordingMicroAllocator total).

    Measured in a buffer of `arena_bytes`, grown fourfold while the model does not fit, up to
    ``MAX_ARENA_BYTES`` (a larger arena gives ``exceeds=True``). `name` names the model in errors.

    Raises:
        ModelFileError: The flatbuffer is damaged, or TFLite Micro crashed or hung on it.
        ConversionError: TFLite Micro refused the model (:class:`TFLMRefused`: its reason).
    """
    verify_tflite(model, name)
    size = arena_bytes
    while True:
        try:
            text = worker().call("arena", (model, size), name, LOAD_TIMEOUT_S)
            break
        except TFLMRefused as e:
            if not e.arena_short:
                raise
            if size >= MAX_ARENA_BYTES:
                return ArenaReport(MAX_ARENA_BYTES, 0, 0, exceeds=True)
            size = min(size * 4, MAX_ARENA_BYTES)
    totals = {k: int(v) for k, v in _TOTAL.findall(text)}
    if "total" not in totals:
        raise ConversionError(f"TFLM printed no allocation report for {name}")
    kinds = {k: (int(u), int(r), int(n)) for k, u, r, n in _KIND.findall(text)}
    return ArenaReport(totals["total"], totals.get("head", 0), totals.get("tail", 0), kinds)


def run_tflm(model: bytes, inputs: np.ndarray, arena_bytes: int = DEFAULT_ARENA_BYTES, *,
             name: str = "the model", timeout_s: float | None = None) -> np.ndarray:  # fmt: skip
    """Runs each input (already int8, shape (N, *input_shape)) through TFLM; returns outputs.

    `timeout_s` bounds the whole run (default: from the model's MACs, see
    ``invoke_timeout_s``); past it TFLM is deemed hung and its worker killed.

    Raises:
        ModelFileError: The flatbuffer is damaged, or TFLite Micro crashed or hung on it.
        ConversionError: TFLite Micro refused the model or an input.
    """
    inputs = np.asarray(inputs)
    macs = parse_tflite(model, name).macs  # verifies the flatbuffer too
    timeout_s = invoke_timeout_s(macs, len(inputs)) if timeout_s is None else timeout_s
    out: np.ndarray = worker().call("run", (model, inputs, arena_bytes), name, timeout_s)
    return out


class TFLMModel:
    """A model loaded in a TFLM interpreter of the worker, for repeated runs (the emulated
    board's). Use :func:`load_tflm`; :meth:`close` frees the interpreter."""

    def __init__(self, model: bytes, arena_bytes: int, name: str) -> None:
        self._worker: TFLMWorker = worker()
        self.name = name
        self._handle = self._worker.new_handle()
        self._timeout_s = invoke_timeout_s(parse_tflite(model, name).macs)  # verifies too
        self._worker.call("load", (self._handle, model, arena_bytes), name, LOAD_TIMEOUT_S)
        self._generation = self._worker.running_generation()

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """The first output tensor of one run on the input tensor `x` (batch included).

        Raises:
            ModelFileError: TFLite Micro crashed or hung (the model is gone with the worker).
            ConversionError: Invoke() failed, or the worker was replaced since the model was
                loaded (it crashed on another model).
        """
        if self._worker.running_generation() != self._generation:
            raise ConversionError(f"{self.name} is no longer loaded: the TFLite Micro worker "
                                  "was restarted; load it again")  # fmt: skip
        out: np.ndarray = self._worker.call("invoke", (self._handle, np.asarray(x)), self.name,
                                            self._timeout_s)  # fmt: skip
        return out

    def close(self) -> None:
        """Free the interpreter (nothing to do when its worker is gone)."""
        if self._worker.running_generation() == self._generation:
            try:
                self._worker.call("drop", (self._handle,), self.name, LOAD_TIMEOUT_S)
            except ConversionError:
                pass


def load_tflm(model: bytes, arena_bytes: int, *, name: str = "the model") -> TFLMModel:
    """Load `model` in a TFLM interpreter with exactly `arena_bytes` of arena.

    Raises:
        ModelFileError: The flatbuffer is damaged, or TFLite Micro crashed or hung on it.
        TFLMRefused: TFLite Micro refused it (``arena_short``: the arena is too small).
    """
    return TFLMModel(model, arena_bytes, name)
