"""Inspecting any ``.tflite`` TFLite Micro runs (int8, int16x8, float or mixed): what the graph
is, what TFLM allocates, and whether it fits.

Every figure of the report says where it comes from (``InspectReport.provenance``):

- the file size is the file's; the tensor types are read from it; params, MACs, element
  operations and op counts are computed from the graph (:mod:`tinynas.tflite_file`, which
  lists its formulas). Ops whose arithmetic tinynas does not know (custom ops, control flow)
  are listed (``uncounted_ops``), never silently counted as 0;
- the arena is measured on the host: the model is loaded in the TFLite Micro interpreter (x86
  reference build), whose RecordingMicroAllocator reports the bytes it used. That is not a
  board's arena: x86 pointers are 8 bytes, so TFLM's own structures are smaller on a 32-bit
  Cortex-M, but optimized kernels such as CMSIS-NN ask for scratch buffers the reference
  kernels do not, so the arena on a Cortex-M may be smaller or larger than this figure.
  The interpreter runs in a worker process (:mod:`tinynas.convert`), after the file passed
  :func:`tinynas.tflite_file.verify_tflite`: a damaged model is one error line, never a crash.
  An arena above the first measuring buffer is measured again in a larger one; one above
  ``MAX_ARENA_BYTES`` is reported as "more than" that (``ArenaReport.exceeds``), which fits no
  board;
- the arena on a 32-bit Cortex-M with CMSIS-NN kernels is estimated from the file
  (:func:`tinynas.estimators.cortex_m_file_arena`) for an int8 model whose every op it
  models; otherwise there is none, and the report says why (``CortexMArena.unavailable``);
- with a device, latency is predicted by the per-op cycle model of the board's TOML (its
  coefficient source travels with the figure); ops the model has no cost for make it partial,
  a lower bound that names them. The fit is arithmetic on the board's sizes::

      flash needed = model file + firmware_reserve_bytes   <= flash_bytes
      RAM needed   = TFLM arena + runtime_reserve_bytes    <= sram_bytes

  where the TFLM arena is the Cortex-M estimate on a board that runs TFLM with CMSIS-NN
  kernels, and the x86 measurement on any other board or when there is no Cortex-M estimate
  (:func:`ram_arena`; ``FitRow.basis`` says which figure and why).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinynas.convert import ArenaReport, TFLMRefused, measure_arena, start_tflm_worker
from tinynas.devices import Device, get_device
from tinynas.errors import ConversionError, ModelFileError
from tinynas.estimators import (
    ArenaEstimate,
    LatencyPrediction,
    cortex_m_board,
    cortex_m_file_arena,
    file_op_costs,
    predict_latency,
)
from tinynas.tflite_file import TFLiteModel, read_tflite
from tinynas.units import format_counts

ARENA_SOURCE = "measured on the host (TFLM x86 reference build, RecordingMicroAllocator total)"
CORTEX_M_SOURCE = "estimated from the file (TFLM on a 32-bit Cortex-M with CMSIS-NN kernels)"
CORTEX_M_PART = "estimated Cortex-M arena"  # its name among the parts of a RAM fit
CORTEX_M_BASIS = "Cortex-M CMSIS-NN arena (estimated)"
X86_BASIS = "x86 TFLM arena (measured)"
GRAPH_SOURCE = "computed from the graph"
FILE_SOURCE = "read from the file"


@dataclass(frozen=True)
class CortexMArena:
    """The arena of a model on a 32-bit Cortex-M with CMSIS-NN kernels, estimated from its
    file, or why there is none."""

    estimate: ArenaEstimate | None
    unavailable: str = ""  # why there is no estimate, e.g. "no Cortex-M arena model for LSTM"

    @property
    def total_bytes(self) -> int | None:
        return self.estimate.total_bytes if self.estimate is not None else None


@dataclass(frozen=True)
class RamArena:
    """The arena a RAM verdict on a board holds against its SRAM, and why that one."""

    bytes: int
    part: str  # its name among the parts of the RAM fit
    basis: str  # which figure and why, one short phrase
    estimated: bool  # the Cortex-M estimate; False: the x86 measurement


@dataclass(frozen=True)
class FitRow:
    """One resource of the fit: what the model needs on the board against what the board has."""

    resource: str  # "flash" or "ram"
    value: int  # bytes needed, the sum of `parts`
    limit: int  # bytes the board has
    parts: tuple[tuple[str, int], ...]  # (what, bytes) adding up to `value`
    basis: str = ""  # RAM: which arena the row holds and why (RamArena.basis)
    estimated: bool = False  # RAM: the arena is the Cortex-M estimate, not the x86 measurement

    @property
    def margin(self) -> int:
        """Bytes to spare; negative when the model does not fit."""
        return self.limit - self.value

    @property
    def ok(self) -> bool:
        return self.margin >= 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "limit": self.limit,
            "margin": self.margin,
            "ok": self.ok,
            "parts": dict(self.parts),
            "basis": self.basis or None,
        }


@dataclass(frozen=True)
class InspectReport:
    """Everything ``tinynas inspect`` shows about one model (and one board, if given)."""

    model: TFLiteModel
    arena: ArenaReport
    device: Device | None = None
    latency: LatencyPrediction | None = None
    fit: tuple[FitRow, ...] = ()
    cortex_m: CortexMArena = CortexMArena(None, "not estimated")

    @property
    def fits(self) -> bool | None:
        """Whether every fit row is ok; None without a device."""
        return all(row.ok for row in self.fit) if self.fit else None

    def gaps(self) -> list[str]:
        """What the report leaves out, as phrases: ops whose arithmetic is unknown, ops the
        latency model has no cost for. Empty when every figure is complete."""
        gaps = []
        if self.model.uncounted_ops:
            names = format_counts(op.op for op in self.model.uncounted_ops)
            gaps.append(f"MACs and element ops leave out {names} (arithmetic unknown)")
        if self.latency is not None and self.latency.partial:
            board = self.device.name if self.device else "the board"
            gaps.append(f"the latency predicted on {board} leaves out "
                        f"{self.latency.uncovered_text()} (no cost in its latency model)")
        return gaps

    @property
    def provenance(self) -> dict[str, str]:
        """Where each figure of :meth:`to_dict` comes from."""
        sources = {"size_bytes": "file size", "input": FILE_SOURCE, "output": FILE_SOURCE,
                   "types": FILE_SOURCE}
        sources.update({key: GRAPH_SOURCE for key in ("params", "macs", "element_ops",
                                                       "op_count", "op_counts", "uncounted_ops")})
        for key in ("arena_bytes", "arena_exceeds", "arena_head_bytes", "arena_tail_bytes"):
            sources[key] = ARENA_SOURCE
        sources["arena_cortex_m_bytes"] = CORTEX_M_SOURCE
        sources["arena_cortex_m_unavailable"] = "why there is no Cortex-M estimate (null: one)"
        sources["ops"] = f"{FILE_SOURCE}; macs and params {GRAPH_SOURCE}"
        if self.latency is not None:
            sources["latency_ms"] = ("predicted, partial: a lower bound without the ops in "
                                     "latency_uncovered" if self.latency.partial else "predicted")
            sources["latency_source"] = "the board's latency coefficients ([latency] source)"
        if self.device is not None:
            sources["device"] = "board catalogue (devices/*.toml)"
        if self.fit:
            sources["fit"] = (
                "arithmetic: file size and TFLM arena plus the board's reserves, against its "
                "flash and SRAM (board catalogue); the arena is the Cortex-M estimate on a "
                "TFLM + CMSIS-NN board, else the x86 measurement (fit.ram.basis says which)"
            )
        return sources

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready plain data."""
        m = self.model
        return {
            "path": str(m.path),
            "size_bytes": m.size_bytes,
            "types": types_dict(m),
            "params": m.params,
            "macs": m.macs,
            "element_ops": m.element_ops,
            "op_count": len(m.ops),
            "op_counts": m.op_counts,
            "uncounted_ops": [{"index": op.index, "op": op.op, "reason": op.uncounted_reason}
                              for op in m.uncounted_ops],
            "input": _io_dict(m.input_shape, m.input_dtype, m.input_scale, m.input_zero_point),
            "output": _io_dict(
                m.output_shape, m.output_dtype, m.output_scale, m.output_zero_point
            ),
            **self.arena_dict(),
            "arena_head_bytes": self.arena.head_bytes,
            "arena_tail_bytes": self.arena.tail_bytes,
            **self._device_dict(),
            "ops": [_op_dict(asdict(op)) for op in m.ops],
            "provenance": self.provenance,
        }

    def arena_dict(self) -> dict[str, Any]:
        """Both arena figures: the x86 measurement (``arena_bytes``, a lower bound when
        ``arena_exceeds``) and the Cortex-M estimate, or why there is none."""
        return {
            "arena_bytes": self.arena.total_bytes,
            "arena_exceeds": self.arena.exceeds,
            "arena_cortex_m_bytes": self.cortex_m.total_bytes,
            "arena_cortex_m_unavailable": self.cortex_m.unavailable or None,
        }

    def _device_dict(self) -> dict[str, Any]:
        return {
            "device": self.device.name if self.device else None,
            "latency_ms": self.latency.latency_ms if self.latency else None,
            "latency_partial": self.latency.partial if self.latency else None,
            "latency_uncovered": self.latency.uncovered_counts if self.latency else None,
            "latency_source": self.latency.source if self.latency else None,
            "fit": {row.resource: row.to_dict() for row in self.fit},
            "fits": self.fits,
        }


def types_dict(model: TFLiteModel) -> dict[str, Any]:
    """The model's numeric kind and tensor types, as JSON-ready data."""
    return {"kind": model.kind, "input": model.input_dtype, "output": model.output_dtype,
            "activations": list(model.activation_types), "weights": list(model.weight_types)}


def _io_dict(
    shape: tuple[int, ...], dtype: str, scale: float | None, zp: int | None
) -> dict[str, Any]:
    return {"shape": list(shape), "dtype": dtype, "scale": scale, "zero_point": zp}


def _op_dict(op: dict[str, Any]) -> dict[str, Any]:
    op["input_shapes"] = [list(s) for s in op["input_shapes"]]
    op["output_shape"] = list(op["output_shape"])
    return op


# ---- building the report ------------------------------------------------------------------------


def inspect_model(
    path: str | Path, device: Device | str | None = None, devices_dir: str | Path | None = None
) -> InspectReport:
    """Read a ``.tflite`` (any type TFLM runs), measure its TFLM arena and, with a device,
    fit and latency.

    Args:
        path: The model file.
        device: A board, or its name or alias in the catalogue.
        devices_dir: Folder of extra board TOML files, for a device given by name.

    Raises:
        ModelFileError: The file is not a usable TFLite model, or TFLM cannot run it.
        BoardNotFoundError: No board of that name.
    """
    board = get_device(device, devices_dir) if isinstance(device, str) else device
    start_tflm_worker()  # it boots while the file is read and checked
    model = read_tflite(path, require_int8=False)
    arena = _measured_arena(model)
    cortex_m = cortex_m_estimate(model)
    if board is None:
        return InspectReport(model, arena, cortex_m=cortex_m)
    latency = predict_latency(file_op_costs(model), board)
    fit = fit_rows(model, arena, board, cortex_m)
    return InspectReport(model, arena, board, latency, fit, cortex_m)


def cortex_m_estimate(model: TFLiteModel) -> CortexMArena:
    """The Cortex-M CMSIS-NN arena of an int8 `model` (read with its bytes), or why there is
    none: a model of another kind, or an op the estimator does not model."""
    if model.kind != "int8":
        return CortexMArena(None, f"no Cortex-M arena model for {model.kind} models")
    try:
        return CortexMArena(cortex_m_file_arena(model))
    except ValueError as e:  # an op or tensor type it does not model, several subgraphs
        return CortexMArena(None, str(e))
    except (IndexError, KeyError, TypeError, AttributeError) as e:  # a graph it cannot follow
        return CortexMArena(None, f"the Cortex-M arena model cannot read this graph "
                                  f"({type(e).__name__})")


def ram_arena(arena_bytes: int, cortex_m: CortexMArena, device: Device,
              exceeds: bool = False) -> RamArena:
    """The arena `device`'s RAM verdict uses: the Cortex-M estimate on a board that runs TFLM
    with CMSIS-NN kernels, else the x86 measurement `arena_bytes` (`exceeds`: a lower bound)."""
    board = cortex_m_board(device)
    if board and cortex_m.total_bytes is not None:
        return RamArena(cortex_m.total_bytes, CORTEX_M_PART, CORTEX_M_BASIS, True)
    why = cortex_m.unavailable if board else \
        f"no arena model for {device.runtime} with {device.kernel_library} on {device.core}"
    part = "TFLM arena (more than)" if exceeds else "TFLM arena"
    return RamArena(arena_bytes, part, f"{X86_BASIS}: {why}", False)


def fit_rows(model: TFLiteModel, arena: ArenaReport, device: Device,
             cortex_m: CortexMArena | None = None) -> tuple[FitRow, ...]:
    """Flash and RAM needed by `model` on `device` against what the board has; the RAM row
    holds the arena of :func:`ram_arena` (`cortex_m`: the model's Cortex-M estimate, computed
    when not given)."""
    flash = (("model file", model.size_bytes), ("firmware reserve", device.firmware_reserve_bytes))
    held = ram_arena(arena.total_bytes, cortex_m or cortex_m_estimate(model), device,
                     arena.exceeds)
    ram = ((held.part, held.bytes), ("runtime reserve", device.runtime_reserve_bytes))
    return (
        FitRow("flash", sum(b for _, b in flash), device.flash_bytes, flash),
        FitRow("ram", sum(b for _, b in ram), device.sram_bytes, ram, held.basis,
               held.estimated),
    )


def _measured_arena(model: TFLiteModel) -> ArenaReport:
    """The arena TFLM allocates; TFLM's own complaint goes in the error.

    Raises:
        ModelFileError: TFLM refused, crashed or hung on the model.
    """
    try:
        return measure_arena(model.data, name=model.path.name)
    except TFLMRefused as e:
        raise ModelFileError(f"TFLite Micro cannot run {model.path.name}: {e.reason}") from e
    except ConversionError as e:
        raise ModelFileError(f"TFLite Micro cannot run {model.path.name}: {e}") from e
