"""What the emulated board does with each command: the board side of PROTOCOL.md, minus I/O.

The model runs in the ``tflite-micro`` interpreter (x86 reference kernels), so outputs and the
arena are TFLM's own. The interpreter lives in tinynas's TFLM worker process
(:func:`tinynas.convert.load_tflm`), after the structural check of the received bytes: a model
that crashes TFLite Micro is answered ``e-[bad-model: ...]`` (on loading) or
``e-[invoke-failed: ...]`` (on running), as firmware that survived would, and the board lives
on. Cycles are not measured: they come from the device's latency model
(:func:`tinynas.estimators.predict_latency` over the ops of the received model) with seeded
multiplicative jitter, on a virtual 32-bit cycle counter that starts near its wrap. Budgets
are those of PROTOCOL.md section 7, from the device's catalogue entry.
"""

from __future__ import annotations

import math
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.errors import ConversionError, ModelFileError, TinyNASError
from tinynas.estimators import file_op_costs, predict_latency
from tinynas.profile._protocol import (
    PROTOCOL,
    RESULTS_MAX_VALUES,
    TIMER_WRAP,
    UNKNOWN_COMMAND,
    align16,
    crc_hex,
    error_text,
    format_line,
    parse_slot_image,
    random_input,
)
from tinynas.tflite_file import TFLiteModel, read_tflite

RUN_OVERHEAD_CYCLES = 1500  # Invoke() bookkeeping around the ops, per run
MAX_RUNS = 10000
_TOKEN = re.compile(r"[0-9a-z]{1,16}")


class BoardFault(Exception):
    """An error the board answers with ``e-[CODE: detail]``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    @property
    def line(self) -> str:
        return format_line("error", error_text(self.code, self.detail))


@dataclass(frozen=True)
class _Model:
    """The loaded model and what the board keeps of it."""

    data: bytes
    crc32: str
    where: str  # "ram" or "flash"
    interpreter: Any  # a tinynas.convert.TFLMModel
    arena_used_bytes: int
    available_bytes: int
    op_cycles: tuple[tuple[str, float], ...]  # (op name, predicted cycles) in execution order
    input_shape: tuple[int, ...]
    output_quantisation: tuple[float, int]  # (scale, zero point) for MLPerf's float results


class BoardEngine:
    """The state of one emulated board: model, input, last results and a virtual clock.

    Args:
        device: The catalogue board whose budgets, clock and latency model it uses.
        seed: Seeds the jitter and the cycle counter's start.
        jitter: Relative standard deviation of each op's cycles.
        slot_image: The flash model slot's content (PROTOCOL.md section 7), if any.
        chunk_bytes: The upload frame payload limit it advertises.
        mlperf: Behave as MLPerf Tiny runner firmware: EEMBC commands only, the slot's model
            compiled in, float results and no per-run lines.
    """

    def __init__(self, device: Device, seed: int = 1, jitter: float = 0.005,
                 slot_image: bytes | None = None, chunk_bytes: int = 4096,
                 mlperf: bool = False) -> None:  # fmt: skip
        self.device = device
        self.jitter = jitter
        self.chunk_bytes = chunk_bytes
        self.slot_image = slot_image
        self._rng = random.Random(seed)
        self._cycles = TIMER_WRAP - self._rng.randrange(1, 1 << 24)  # meet the wrap early
        self.model: _Model | None = None
        self._input = b""
        self._db: bytearray | None = None
        self._last: list[str] = []
        self._handlers: dict[str, Callable[[list[str]], Iterator[str]]] = {
            "name": self._name, "profile": self._profile, "timestamp": self._timestamp,
            "info": self._info, "sync": self._sync, "db": self._db_command,
            "input": self._input_command, "infer": self._infer, "results": self._results,
            "arena": self._arena, "model": self._model_slot,
        }  # fmt: skip
        self.mlperf = mlperf
        if mlperf:
            self._compile_in()

    def _compile_in(self) -> None:
        """MLPerf firmware: only EEMBC commands, and the model built into the firmware."""
        for word in ("info", "sync", "input", "arena", "model"):
            del self._handlers[word]
        data = parse_slot_image(self.slot_image or b"", self.slot_bytes or 1 << 31)
        if data is None:
            raise BoardFault("slot-empty", "MLPerf mode needs its compiled-in model")
        self.load(data, "flash")

    @property
    def pool_bytes(self) -> int:
        return self.device.ram_budget_bytes

    @property
    def slot_bytes(self) -> int:
        return self.device.flash_budget_bytes - 4 if self.device.model_slot_address else 0

    def knows(self, word: str) -> bool:
        """Whether ``word`` is a command of this board (MLPerf firmware knows fewer)."""
        return word in self._handlers

    def handle(self, text: str) -> Iterator[str]:
        """The reply lines of one command (without ``m-ready``); raises :class:`BoardFault`."""
        words = text.split()
        if not words:
            return iter(())
        handler = self._handlers.get(words[0])
        if handler is None:
            printable = "".join(c if c.isprintable() and c != "]" else "?" for c in text)
            raise BoardFault(UNKNOWN_COMMAND, printable)
        return handler(words[1:])

    # ---- EEMBC commands -------------------------------------------------------------------

    def _name(self, args: list[str]) -> Iterator[str]:
        yield format_line("name", self.device.name)

    def _profile(self, args: list[str]) -> Iterator[str]:
        if self.mlperf:
            yield format_line("profile", "ULPMark for tinyML Firmware V0.0.1 (emulated)")
            yield format_line("model", "compiled-in")
            return
        yield format_line("profile", f"{PROTOCOL} emulated")
        yield format_line("model", f"crc32={self.model.crc32}" if self.model else "none")

    def _timestamp(self, args: list[str]) -> Iterator[str]:
        yield format_line("lap_us", self._us())

    def _db_command(self, args: list[str]) -> Iterator[str]:
        self._require_model()
        if args[:1] == ["load"]:
            (size,) = _ints(args[1:], "db load N", [(1, 1 << 31)])
            if size != len(self._input):
                raise BoardFault("bad-argument", f"db load {size}: the model's input is "
                                 f"{len(self._input)} bytes")  # fmt: skip
            self._db = bytearray()
            yield f"m-[Expecting {size} bytes]"
            return
        yield from self._db_data(args)

    def _db_data(self, args: list[str]) -> Iterator[str]:
        if self._db is None or len(args) != 1:
            raise BoardFault("bad-argument", "db HEX without a db load N first")
        try:
            self._db += bytes.fromhex(args[0])
        except ValueError as e:
            self._db = None
            raise BoardFault("bad-argument", f"db {args[0][:16]}...: not hex ({e})") from e
        if len(self._db) > len(self._input):
            self._db = None
            raise BoardFault("bad-argument", "db: more bytes than db load announced")
        if len(self._db) == len(self._input):
            self._input, self._db = bytes(self._db), None
            yield "m-load-done"

    def _infer(self, args: list[str]) -> Iterator[str]:
        runs, warmup = _ints(args, "infer N W", [(1, MAX_RUNS), (0, MAX_RUNS)])
        model = self._require_model()
        yield format_line("warmup_start", warmup)
        for _ in range(warmup):
            self._run(model)
        yield format_line("warmup_done")
        yield format_line("infer_start", runs)
        yield format_line("lap_us", self._us())
        for run in range(runs):
            lines = self._timed_run(model, run)
            if not self.mlperf:  # printing between runs takes UART time at the board's baud
                self._cycles += self._uart_cycles(lines)
                yield from lines
        yield format_line("lap_us", self._us())
        yield format_line("infer_done")
        self._last = self._invoke(model)
        yield from self._last

    def _results(self, args: list[str]) -> Iterator[str]:
        if not self._last:
            raise BoardFault("no-results", "no inference has run since the model was loaded")
        yield from self._last

    # ---- tinynas commands -----------------------------------------------------------------

    def _info(self, args: list[str]) -> Iterator[str]:
        d = self.device
        fields = {
            "protocol": PROTOCOL, "board": d.name, "emulated": 1, "core": d.core,
            "clock_hz": d.clock_hz, "sram_bytes": d.sram_bytes, "flash_bytes": d.flash_bytes,
            "pool_bytes": self.pool_bytes, "slot_bytes": self.slot_bytes,
            "chunk_bytes": self.chunk_bytes, "timer_bits": 32, "us_timer": 1,
            "runtime": f"tflite-micro {_tflm_version()} x86",
            "kernels": f"reference x86 (cycles modelled for {d.kernel_library})",
            "latency_source": d.latency.source.replace("]", ")").replace("\n", " "),
        }  # fmt: skip
        for key, value in fields.items():
            yield format_line("info", key, value)

    def _sync(self, args: list[str]) -> Iterator[str]:
        if len(args) != 1 or not _TOKEN.fullmatch(args[0]):
            raise BoardFault("bad-argument", "sync T: T is 1-16 characters [0-9a-z]")
        yield format_line("sync", args[0])

    def _input_command(self, args: list[str]) -> Iterator[str]:
        self._require_model()
        if args == ["zeros"]:
            self._input = bytes(len(self._input))
            yield format_line("input", "zeros")
            return
        if args[:1] != ["random"]:
            raise BoardFault("bad-argument", "input zeros | input random SEED")
        (seed,) = _ints(args[1:], "input random SEED", [(1, TIMER_WRAP - 1)])
        self._input = random_input(seed, len(self._input))
        yield format_line("input", f"random,{seed}")

    def _arena(self, args: list[str]) -> Iterator[str]:
        model = self._require_model()
        yield format_line("arena", "used_bytes", model.arena_used_bytes)
        yield format_line("arena", "available_bytes", model.available_bytes)
        yield format_line("arena", "model_bytes", len(model.data))
        yield format_line("arena", "model_in", model.where)

    def _model_slot(self, args: list[str]) -> Iterator[str]:
        self._drop_model()
        if args != ["slot"]:
            raise BoardFault("bad-argument", "model N CRC | model slot")
        data = parse_slot_image(self.slot_image or b"", self.slot_bytes)
        if data is None:
            raise BoardFault("slot-empty", "no valid model in the flash slot "
                             f"(this board's slot holds {self.slot_bytes} bytes)")  # fmt: skip
        yield self.load(data, "flash")

    # ---- model upload (the frames are the emulator's business) ----------------------------

    def begin_upload(self, args: list[str]) -> tuple[int, str]:
        """Check ``model N CRC``; returns (N, CRC). The old model is dropped first."""
        self._drop_model()
        if len(args) != 2 or not re.fullmatch(r"[0-9A-Fa-f]{8}", args[1]):
            raise BoardFault("bad-argument", "model N CRC: N bytes, CRC 8 hex digits")
        (size,) = _ints(args[:1], "model N CRC", [(0, 1 << 31)])
        if size == 0 or align16(size) > self.pool_bytes:
            raise BoardFault("model-too-large", f"{size} bytes; the RAM model buffer holds "
                             f"{self.pool_bytes} bytes")  # fmt: skip
        return size, args[1].upper()

    def _drop_model(self) -> None:
        """Forget the model and its results; its interpreter is freed."""
        model, self.model, self._last = self.model, None, []
        if model is not None:
            model.interpreter.close()

    def load(self, data: bytes, where: str) -> str:
        """Load ``data`` as firmware would (PROTOCOL.md section 7); the ``m-model-loaded`` line."""
        available = self.pool_bytes - (align16(len(data)) if where == "ram" else 0)
        graph = self._graph(data)
        interpreter = _interpreter(data, available)
        try:
            arena = _arena_bytes(data)
        except BoardFault:
            interpreter.close()
            raise
        op_cycles = predict_latency(file_op_costs(graph), self.device).per_op_cycles
        quantisation = (graph.output_scale or 1.0, graph.output_zero_point or 0)
        self.model = _Model(data, crc_hex(data), where, interpreter, arena, available,
                            op_cycles, graph.input_shape, quantisation)  # fmt: skip
        self._input, self._last = bytes(math.prod(graph.input_shape)), []
        return format_line("loaded", len(data), self.model.crc32, where)

    def _graph(self, data: bytes) -> TFLiteModel:
        """The model's graph as tinynas reads it; refuses a non-int8 model."""
        if data[4:8] != b"TFL3":
            raise BoardFault("bad-model", "no TFL3 identifier at bytes 4..8")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.tflite"
            path.write_bytes(data)
            try:
                model = read_tflite(path)
            except ModelFileError as e:
                text = str(e).removeprefix(f"{path.name}: ").replace(path.name, "the model")
                raise BoardFault("bad-model", text) from e
        return model

    # ---- time and running -----------------------------------------------------------------

    def _require_model(self) -> _Model:
        if self.model is None:
            raise BoardFault("no-model", "upload a model first (model N CRC%)")
        return self.model

    def _us(self) -> int:
        return self._cycles * 1_000_000 // self.device.clock_hz % TIMER_WRAP

    def _run(self, model: _Model) -> list[int]:
        """Advance the clock by one run; the jittered cycles of each op."""
        ops = [max(1, round(c * (1 + self.jitter * self._rng.gauss(0, 1))))
               for _, c in model.op_cycles]  # fmt: skip
        self._cycles += sum(ops) + RUN_OVERHEAD_CYCLES
        return ops

    def _timed_run(self, model: _Model, run: int) -> list[str]:
        """One timed run: its m-run line and its m-op lines."""
        c0, u0 = self._cycles % TIMER_WRAP, self._us()
        ops = self._run(model)
        lines = [format_line("run", run, c0, self._cycles % TIMER_WRAP, u0, self._us())]
        lines += [format_line("op", run, k, name, cycles)
                  for k, ((name, _), cycles) in enumerate(zip(model.op_cycles, ops))]  # fmt: skip
        return lines

    def _uart_cycles(self, lines: list[str]) -> int:
        """Cycles that printing ``lines`` takes at the board's baud rate (10 bits a byte)."""
        sent_bytes = sum(len(line) + 2 for line in lines)
        return sent_bytes * 10 * self.device.clock_hz // self.device.serial_baud

    def _invoke(self, model: _Model) -> list[str]:
        x = np.frombuffer(self._input, np.int8).reshape(model.input_shape)
        try:
            out = np.asarray(model.interpreter.invoke(x)).astype(np.int8).tobytes()
        except ModelFileError as e:  # TFLM crashed or hung: the interpreter went with it
            self.model, self._last = None, []
            raise BoardFault("invoke-failed", _one_line(e)) from e
        except ConversionError as e:  # Invoke() failed
            raise BoardFault("invoke-failed", _one_line(e)) from e
        values = np.frombuffer(out, np.int8)[:RESULTS_MAX_VALUES]
        if self.mlperf:  # EEMBC's results are dequantised floats with three decimals
            scale, zero_point = model.output_quantisation
            floats = ",".join(f"{(int(v) - zero_point) * scale:.3f}" for v in values)
            return [format_line("results", floats)]
        return [format_line("results", ",".join(str(int(v)) for v in values)),
                format_line("output", len(out), crc_hex(out))]  # fmt: skip


def _ints(args: list[str], usage: str, ranges: list[tuple[int, int]]) -> list[int]:
    """``args`` as integers within ``ranges``, or a bad-argument fault naming ``usage``."""
    if len(args) != len(ranges) or not all(a.isdigit() for a in args):
        raise BoardFault("bad-argument", f"{usage}: got '{' '.join(args)}'")
    values = [int(a) for a in args]
    for value, (low, high) in zip(values, ranges):
        if not low <= value <= high:
            raise BoardFault("bad-argument", f"{usage}: {value} is outside {low}..{high}")
    return values


def _interpreter(data: bytes, available: int) -> Any:
    """A TFLM interpreter with exactly ``available`` arena bytes, as the firmware has."""
    from tinynas.convert import TFLMRefused, load_tflm

    try:
        return load_tflm(data, available)
    except TFLMRefused:  # too little arena, or a model TFLM cannot run
        needed = _arena_bytes(data)
    except TinyNASError as e:  # TFLM crashed or hung on it
        raise BoardFault("bad-model", _one_line(e)) from e
    raise BoardFault("arena-too-large", f"arena needs {needed} bytes, {available} available "
                     "after the model")  # fmt: skip


def _arena_bytes(data: bytes) -> int:
    """TFLM's arena for ``data`` (x86 figure); a model TFLM cannot load is a bad model."""
    from tinynas.convert import TFLMRefused, measure_arena

    try:
        arena = measure_arena(data)
    except TFLMRefused as e:
        raise BoardFault("bad-model", e.reason) from e
    except TinyNASError as e:  # damaged, or TFLM crashed or hung on it
        raise BoardFault("bad-model", _one_line(e)) from e
    return arena.total_bytes


def _one_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _tflm_version() -> str:
    for name in ("tflite-micro", "tflite_micro"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"
