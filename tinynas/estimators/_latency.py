"""Predicted latency: a per-op cycle model whose coefficients live in the device's TOML.

cycles(op) = cycles_per_mac * MACs + cycles_per_output * output elements + cycles_per_op,
summed over the ops and divided by the core clock. The coefficients are per (core, kernel
library); until a board's are calibrated against measurements its TOML says so in
`latency.source`, and every prediction carries that source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinynas.devices import Device
from tinynas.estimators._tflite_graph import TFLiteGraph

if TYPE_CHECKING:
    from tinynas.tflite_file import TFLiteModel


@dataclass(frozen=True)
class OpCost:
    """What the latency model needs of one op."""

    op: str
    macs: int
    output_elements: int


@dataclass(frozen=True)
class LatencyPrediction:
    cycles: float
    clock_hz: int
    per_op_cycles: tuple[tuple[str, float], ...]
    source: str  # where the coefficients came from

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.cycles / self.clock_hz


def op_costs(graph: TFLiteGraph) -> list[OpCost]:
    return [
        OpCost(op.op, op.macs, graph.activations[op.output].nbytes) for op in graph.ops
    ]


def file_op_costs(model: TFLiteModel) -> list[OpCost]:
    """The ops of a `.tflite` file's main subgraph as the latency model sees them."""
    return [OpCost(op.op, op.macs, op.output_elements) for op in model.ops]


def predict_latency(ops: Iterable[OpCost], device: Device) -> LatencyPrediction:
    """Predicted cycles and milliseconds of one inference on `device`."""
    per_op = []
    table = device.latency.ops
    default = table["default"]
    for cost in ops:
        c = table.get(cost.op, default)  # as LatencyModel.coefficients, without the call
        cycles = c.cycles_per_mac * cost.macs + c.cycles_per_output * cost.output_elements
        per_op.append((cost.op, cycles + c.cycles_per_op))
    return LatencyPrediction(
        sum(c for _, c in per_op), device.clock_hz, tuple(per_op), device.latency.source
    )
