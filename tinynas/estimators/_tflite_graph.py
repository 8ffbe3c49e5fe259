"""The int8 TFLite graph an architecture converts to, predicted without TensorFlow.

`tflite_graph` mirrors what the converter emits for the lowered graph: batch norm and ReLU
folded into the convolution, int8 weights with per-channel scales, an int32 bias on every
convolution and dense layer, an int32 shape operand on every RESHAPE, no RESHAPE for a
flatten of a 1x1 feature map (FULLY_CONNECTED flattens its input itself), and a RESHAPE to
(C,) after a max pooling down to 1x1xC, C > 1, that feeds an ADD (the converter adds it and
lets ADD broadcast). Constant operands are kept as totals per op: that is all the size and arena
estimators need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from tinynas.space import Architecture, Node, lower


class Activation(NamedTuple):
    """An int8 activation tensor (batch dimension included), per-tensor quantised."""

    shape: tuple[int, ...]
    nbytes: int


class Op(NamedTuple):
    """An operator: its builtin name, activation inputs and output, and its constants."""

    op: str
    inputs: tuple[int, ...]  # activation tensor ids
    output: int  # activation tensor id
    macs: int
    out_channels: int  # channels whose requantisation data TFLM keeps (0 for other ops)
    const_count: int  # constant operand tensors (weights, bias, shape)
    const_bytes: int  # their data: int8 weights, int32 biases and shapes
    const_quant_channels: int  # scales stored with them (per-channel weights and biases)
    # output positions x kernel taps (convolutions), output elements x window (pooling)
    window_elements: int = 0


@dataclass(frozen=True)
class TFLiteGraph:
    activations: tuple[Activation, ...]  # id = index; 0 is the model input
    ops: tuple[Op, ...]

    @property
    def tensor_count(self) -> int:
        return len(self.activations) + sum(op.const_count for op in self.ops)


def _op(node: Node, src: Node, inputs: tuple[int, ...], output: int) -> Op:
    """One op with its constants and MACs (MAC formulas as μNAS's resource models)."""
    op = node.op
    if op == "CONV_2D" or op == "DEPTHWISE_CONV_2D":
        kh, kw = node.kernel
        h, w, c = node.shape
        per_out = kh * kw * (1 if op == "DEPTHWISE_CONV_2D" else src.shape[-1])
        # weights (int8, one scale per output channel) and bias (int32, one scale each)
        return Op(op, inputs, output, h * w * c * per_out, c, 2, c * per_out + 4 * c, 2 * c,
                  h * w * kh * kw)
    if op == "FULLY_CONNECTED":
        n_in, n_out = math.prod(src.shape), node.shape[0]
        return Op(op, inputs, output, n_in * n_out, n_out, 2, n_in * n_out + 4 * n_out,
                  2 * n_out)
    if op == "RESHAPE":  # new shape: int32 vector of the output rank (batch included)
        return Op(op, inputs, output, 0, 0, 1, 4 * (len(node.shape) + 1), 0)
    if op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return Op(op, inputs, output, 0, 0, 0, 0, 0, node.out_elements * math.prod(node.kernel))
    return Op(op, inputs, output, 0, 0, 0, 0, 0)


def _add_operand(src: Node, tensor: int, activations: list[Activation], ops: list[Op]) -> int:
    """An ADD operand; a max pooling down to 1x1xC (C > 1) gets the converter's RESHAPE."""
    c = src.shape[-1]
    if src.op != "MAX_POOL_2D" or src.shape != (1, 1, c) or c == 1:
        return tensor
    activations.append(Activation((c,), c))
    ops.append(Op("RESHAPE", (tensor,), len(activations) - 1, 0, 0, 1, 4, 0))
    return len(activations) - 1


def tflite_graph(arch: Architecture, nodes: list[Node] | None = None) -> TFLiteGraph:
    """The predicted int8 TFLite graph of `arch`, ops in execution order."""
    nodes = nodes or lower(arch)
    activations = [Activation((1, *nodes[0].shape), nodes[0].out_elements)]
    tensor_of = [0] * len(nodes)  # node index -> activation tensor id
    ops: list[Op] = []
    for i in range(1, len(nodes)):
        node = nodes[i]
        first = node.inputs[0]
        src = nodes[first]
        if node.name == "flatten" and src.shape[:-1] == (1, 1):
            tensor_of[i] = tensor_of[first]  # folded into FULLY_CONNECTED
            continue
        if node.op == "ADD":
            inputs = tuple(_add_operand(nodes[j], tensor_of[j], activations, ops)
                           for j in node.inputs)
        else:
            inputs = (tensor_of[first],)
        tensor_of[i] = len(activations)
        activations.append(Activation((1, *node.shape), math.prod(node.shape)))
        ops.append(_op(node, src, inputs, tensor_of[i]))
    return TFLiteGraph(tuple(activations), tuple(ops))
