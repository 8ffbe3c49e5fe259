"""`Estimate`: every estimate of one architecture, and `estimate`, which computes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinynas.devices import Device
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


@dataclass(frozen=True)
class Estimate:
    """Every estimate of one architecture (and the latency prediction for a device)."""

    params: int
    macs: int
    flash_bytes: int  # the int8 .tflite file
    arena_bytes: int  # TFLM arena, x86 reference build
    unas_peak_bytes: int  # μNAS's peak activation figure
    latency_ms: float | None = None  # predicted for `device`
    latency_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["provenance"] = {"latency_ms": "predicted"} if self.latency_ms is not None else {}
        estimated = ("params", "macs", "flash_bytes", "arena_bytes", "unas_peak_bytes")
        d["provenance"].update({k: "estimated" for k in estimated})
        return d


def estimate(arch: Architecture, device: Device | None = None) -> Estimate:
    """All estimates of `arch`, building its TFLite graph once."""
    nodes = lower(arch)
    graph = tflite_graph(arch, nodes)
    buffers = lifetimes(graph)
    latency = predict_latency(op_costs(graph), device) if device is not None else None
    return Estimate(
        params=params(arch, nodes),
        macs=macs(arch, graph),
        flash_bytes=flash_bytes(arch, graph),
        arena_bytes=arena(arch, graph, buffers).total_bytes,
        unas_peak_bytes=unas_peak_bytes(arch, graph, buffers),
        latency_ms=latency.latency_ms if latency else None,
        latency_source=latency.source if latency else None,
    )
