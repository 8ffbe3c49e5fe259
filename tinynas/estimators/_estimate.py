"""`Estimate`: every estimate of one architecture, and `estimate`, which computes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinynas.devices import Device
from tinynas.estimators._cortex_m import cortex_m_arena
from tinynas.estimators._latency import op_costs, predict_latency
from tinynas.estimators._resources import (
    arena,
    flash_bytes,
    lifetimes,
    macs,
    params,
    unas_peak_bytes,
)
from tinynas.estimators._tflite_graph import tflite_graph
from tinynas.space import Architecture, lower

# which TFLM arena `Estimate.arena_bytes` is (`Estimate.arena_source`)
ARENA_CORTEX_M = "cortex-m cmsis-nn (estimated)"  # 32-bit build with CMSIS-NN kernels
ARENA_X86 = "x86 reference kernels (estimated)"  # TFLM's x86 build, as its Python wheel runs


# Cores whose CMSIS-NN build takes the DSP-extension paths whose scratch buffers
# `cortex_m_arena` restates; without the DSP extension (Cortex-M0+) CMSIS-NN picks other
# kernels with other buffer rules (Source/ConvolutionFunctions/*_get_buffer_sizes_s8.c).
DSP_CORES = ("cortex-m4f", "cortex-m7")


def cortex_m_board(device: Device | None) -> bool:
    """Whether `device` runs TFLM with CMSIS-NN kernels on a core with the DSP extension, so
    that its arena is the Cortex-M one (`cortex_m_arena`) rather than the x86 build's."""
    return (device is not None and device.runtime == "tflm"
            and device.kernel_library == "cmsis-nn" and device.core in DSP_CORES)


@dataclass(frozen=True)
class Estimate:
    """Every estimate of one architecture (and the latency prediction for a device)."""

    params: int
    macs: int
    flash_bytes: int  # the int8 .tflite file
    arena_bytes: int  # TFLM arena on the device: which one, `arena_source` says
    unas_peak_bytes: int  # μNAS's peak activation figure
    latency_ms: float | None = None  # predicted for `device`
    latency_source: str | None = None
    arena_source: str = ARENA_X86  # ARENA_CORTEX_M for a TFLM + CMSIS-NN board
    arena_x86_bytes: int | None = None  # TFLM arena, x86 reference build (None: arena_bytes)

    def __post_init__(self) -> None:
        if self.arena_x86_bytes is None and self.arena_source == ARENA_X86:
            object.__setattr__(self, "arena_x86_bytes", self.arena_bytes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["provenance"] = {"latency_ms": "predicted"} if self.latency_ms is not None else {}
        estimated = ("params", "macs", "flash_bytes", "unas_peak_bytes")
        d["provenance"].update({k: "estimated" for k in estimated})
        d["provenance"].update(arena_bytes=self.arena_source, arena_x86_bytes=ARENA_X86)
        return d


def estimate(arch: Architecture, device: Device | None = None) -> Estimate:
    """All estimates of `arch`, building its TFLite graph once. The arena is the one `device`
    allocates: the Cortex-M estimate for a board that runs TFLM with CMSIS-NN kernels, else (and
    without a device) the x86 reference build's; the x86 figure is kept in `arena_x86_bytes`."""
    nodes = lower(arch)
    graph = tflite_graph(arch, nodes)
    buffers = lifetimes(graph)
    latency = predict_latency(op_costs(graph), device) if device is not None else None
    x86 = arena(arch, graph, buffers).total_bytes
    cortex_m = cortex_m_board(device)
    return Estimate(
        params=params(arch, nodes),
        macs=macs(arch, graph),
        flash_bytes=flash_bytes(arch, graph),
        arena_bytes=cortex_m_arena(arch, graph).total_bytes if cortex_m else x86,
        unas_peak_bytes=unas_peak_bytes(arch, graph, buffers),
        latency_ms=latency.latency_ms if latency else None,
        latency_source=latency.source if latency else None,
        arena_source=ARENA_CORTEX_M if cortex_m else ARENA_X86,
        arena_x86_bytes=x86,
    )
