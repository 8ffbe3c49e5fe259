"""Predicted latency: a per-op cycle model whose coefficients live in the device's TOML.

cycles(op) = cycles_per_mac * MACs + cycles_per_output * output elements
            + cycles_per_window_element * window elements + cycles_per_op,
summed over the ops and divided by the core clock. Window elements are output positions x
kernel taps of a convolution (im2col and window loops pay per tap, whatever the channel
count) and output elements x window of a pooling; 0 for other ops. The coefficients are per
(core, kernel library); until a board's are calibrated against measurements its TOML says so in
`latency.source`, and every prediction carries that source.

An op the board has no coefficients for takes the ``default`` ones, which price output
elements and the op itself. That covers ops whose cost is the data they produce, but not the
multiply-accumulates of an op the model was never fitted on (an LSTM, a transposed convolution)
nor an op whose arithmetic is unknown (a custom op): such ops are listed in
:attr:`LatencyPrediction.uncovered` and the prediction is partial, a lower bound.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinynas.devices import Device
from tinynas.estimators._tflite_graph import TFLiteGraph
from tinynas.units import format_counts

if TYPE_CHECKING:
    from tinynas.tflite_file import OpInfo, TFLiteModel


@dataclass(frozen=True)
class OpCost:
    """What the latency model needs of one op."""

    op: str
    macs: int
    output_elements: int
    counted: bool = True  # False: the op's arithmetic is unknown (custom op, control flow)
    window_elements: int = 0  # convolution positions x kernel taps; pooling reads


@dataclass(frozen=True)
class LatencyPrediction:
    cycles: float
    clock_hz: int
    per_op_cycles: tuple[tuple[str, float], ...]
    source: str  # where the coefficients came from
    uncovered: tuple[str, ...] = ()  # ops (one entry each) whose cost the model lacks

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.cycles / self.clock_hz

    @property
    def partial(self) -> bool:
        """Whether some op's cost is missing, so that the latency is a lower bound."""
        return bool(self.uncovered)

    @property
    def uncovered_counts(self) -> dict[str, int]:
        """Op name -> how many of its ops have no cost, in order of first occurrence."""
        return dict(Counter(self.uncovered))

    def uncovered_text(self) -> str:
        """The uncovered ops as a phrase, e.g. "UNIDIRECTIONAL_SEQUENCE_LSTM x2"."""
        return format_counts(self.uncovered)


def op_costs(graph: TFLiteGraph) -> list[OpCost]:
    return [OpCost(op.op, op.macs, graph.activations[op.output].nbytes,
                   window_elements=op.window_elements) for op in graph.ops]  # fmt: skip


def file_op_costs(model: TFLiteModel) -> list[OpCost]:
    """The ops of a `.tflite` file's main subgraph as the latency model sees them."""
    return [OpCost(op.op, op.macs, op.output_elements, op.counted, window_elements(op))
            for op in model.ops]  # fmt: skip


def window_elements(op: OpInfo) -> int:
    """Output positions x kernel taps of CONV_2D / DEPTHWISE_CONV_2D (weights OHWI / 1HWC),
    output elements x window of a pooling (its element operations), else 0."""
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(op.input_shapes) > 1:
        weights = op.input_shapes[1]
        if len(weights) == 4 and op.output_shape:
            return math.prod(op.output_shape[:-1]) * weights[1] * weights[2]
        return 0
    return op.element_ops if op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D") else 0


def predict_latency(ops: Iterable[OpCost], device: Device) -> LatencyPrediction:
    """Predicted cycles and milliseconds of one inference on `device`; ops whose cost the
    board's model lacks are listed in the prediction's ``uncovered`` (see the module)."""
    per_op, uncovered = [], []
    table = device.latency.ops
    default = table["default"]
    for cost in ops:
        c = table.get(cost.op, default)  # as LatencyModel.coefficients, without the call
        if not cost.counted or (cost.op not in table and cost.macs and not c.cycles_per_mac):
            uncovered.append(cost.op)
        cycles = (c.cycles_per_mac * cost.macs + c.cycles_per_output * cost.output_elements
                  + c.cycles_per_window_element * cost.window_elements)
        per_op.append((cost.op, cycles + c.cycles_per_op))
    return LatencyPrediction(sum(c for _, c in per_op), device.clock_hz, tuple(per_op),
                             device.latency.source, tuple(uncovered))  # fmt: skip
