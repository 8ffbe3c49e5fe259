"""The int8 TFLite graph an architecture converts to, predicted without TensorFlow.

`tflite_graph` mirrors what the converter emits for the lowered graph: batch norm and ReLU
folded into the convolution, int8 weights with per-channel scales, an int32 bias on every
convolution and dense layer, an int32 shape operand on every RESHAPE, and no RESHAPE for a
flatten of a 1x1 feature map (FULLY_CONNECTED flattens its input itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinynas.space import Architecture, Node, lower


@dataclass(frozen=True)
class Tensor:
    """A tensor of the TFLite graph (batch dimension included in `shape`)."""

    shape: tuple[int, ...]
    element_bytes: int  # int8 activations and weights: 1; int32 biases and shapes: 4
    quant_channels: int  # scales stored with the tensor (0 = not quantised)
    constant: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.element_bytes


@dataclass(frozen=True)
class Op:
    """An operator: its builtin name, activation inputs, output, and constant operands."""

    op: str
    inputs: tuple[int, ...]  # activation tensor ids
    output: int  # activation tensor id
    constants: tuple[Tensor, ...]
    macs: int
    out_channels: int  # channels whose requantisation data TFLM keeps per op


@dataclass(frozen=True)
class TFLiteGraph:
    activations: tuple[Tensor, ...]  # id = index; 0 is the model input
    ops: tuple[Op, ...]

    @property
    def tensor_count(self) -> int:
        return len(self.activations) + sum(len(op.constants) for op in self.ops)


def _int8(shape: tuple[int, ...], channels: int = 1, constant: bool = False) -> Tensor:
    return Tensor(shape, 1, channels, constant)


def _int32(shape: tuple[int, ...], channels: int = 0) -> Tensor:
    return Tensor(shape, 4, channels, True)


def _op_for(node: Node, src: Node) -> tuple[tuple[Tensor, ...], int]:
    """Constant operands and MACs of one node (MAC formulas as μNAS's resource models)."""
    if node.op == "CONV_2D":
        kh, kw = node.kernel
        cin, cout = src.channels, node.channels
        oh, ow = node.shape[0], node.shape[1]
        consts = (_int8((cout, kh, kw, cin), cout, True), _int32((cout,), cout))
        return consts, oh * ow * cout * kh * kw * cin
    if node.op == "DEPTHWISE_CONV_2D":
        kh, kw = node.kernel
        c = node.channels
        consts = (_int8((1, kh, kw, c), c, True), _int32((c,), c))
        return consts, node.shape[0] * node.shape[1] * c * kh * kw
    if node.op == "FULLY_CONNECTED":
        n_in = math.prod(src.shape)
        n_out = node.shape[0]
        return (_int8((n_out, n_in), n_out, True), _int32((n_out,), n_out)), n_in * n_out
    if node.op == "RESHAPE":
        return (_int32((len(node.shape) + 1,)),), 0
    return (), 0


def tflite_graph(arch: Architecture) -> TFLiteGraph:
    """The predicted int8 TFLite graph of `arch`, ops in execution order."""
    nodes = lower(arch)
    activations = [_int8((1, *nodes[0].shape))]
    tensor_of = {0: 0}  # node index -> activation tensor id
    ops: list[Op] = []
    for i, node in enumerate(nodes[1:], start=1):
        src = nodes[node.inputs[0]]
        if node.name == "flatten" and src.shape[:-1] == (1, 1):
            tensor_of[i] = tensor_of[node.inputs[0]]  # folded into FULLY_CONNECTED
            continue
        consts, macs = _op_for(node, src)
        tensor_of[i] = len(activations)
        activations.append(_int8((1, *node.shape)))
        per_channel = node.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
        ops.append(Op(
            node.op,
            tuple(tensor_of[j] for j in node.inputs),
            tensor_of[i],
            consts,
            macs,
            node.channels if per_channel else 0,
        ))
    return TFLiteGraph(tuple(activations), tuple(ops))
