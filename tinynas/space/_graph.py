"""Lowering: an Architecture becomes the concrete op graph that every consumer shares.

The torch module, the Keras twin and every estimator walk the same list of `Node`s, so they
cannot disagree about a shape. Node ops are named after the TFLite builtin each one becomes
after int8 conversion (batch norm and ReLU are folded into the convolution before it).

Shape rules (TensorFlow's, batch 1, channels last):
- 'same' padding: out = ceil(in / stride); kernels are clipped to the feature map (μNAS).
- a pre-pool is a max pool of min(2, size) per axis, stride = kernel, 'same'.
- the final pooling is 'valid' with kernel = stride = min(P, size): out = floor(in / P).
- a 1-D input (L,) or (L, C) is reshaped to (1, L, C): convolutions run along L only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tinynas.space._arch import Architecture, ConvLayer
from tinynas.space._validate import validate


@dataclass(frozen=True)
class Node:
    """One op of the lowered graph (the network input is node 0, op "INPUT")."""

    op: str  # INPUT, RESHAPE, MAX_POOL_2D, AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, ADD, FULLY_CONNECTED
    name: str  # stable layer name, e.g. "b0l1" (block 0, layer 1), "d0", "classifier"
    inputs: tuple[int, ...]  # indices of producing nodes
    shape: tuple[int, ...]  # output shape without the batch: (H, W, C) or (N,)
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: str = "valid"  # 'same' or 'valid'
    batch_norm: bool = False
    relu: bool = False

    @property
    def channels(self) -> int:
        return self.shape[-1]

    @property
    def out_elements(self) -> int:
        return math.prod(self.shape)


# Weightless ops that the TFLite converter merges when two of them read the same tensor with
# the same parameters (common-subexpression elimination); the graph merges them too.
_MERGEABLE = ("MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE")


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.aliases: dict[str, str] = {}  # name of a merged node -> name of the one kept

    def add(self, node: Node) -> int:
        if node.op in _MERGEABLE:
            for i, other in enumerate(self.nodes):
                if replace(other, name=node.name) == node:
                    self.aliases[node.name] = other.name
                    return i
        self.nodes.append(node)
        return len(self.nodes) - 1

    def shape(self, i: int) -> tuple[int, ...]:
        return self.nodes[i].shape

    def pre_pool(self, x: int, name: str) -> int:
        h, w, c = self.shape(x)
        if h == 1 and w == 1:
            return x  # nothing to pool, as in μNAS
        k = (min(2, h), min(2, w))
        out = (math.ceil(h / k[0]), math.ceil(w / k[1]), c)
        return self.add(Node("MAX_POOL_2D", name, (x,), out, k, k, "same"))

    def conv(self, x: int, layer: ConvLayer, name: str, filters: int | None = None) -> int:
        if layer.pre_pool:
            x = self.pre_pool(x, name + "_pool")
        h, w, c = self.shape(x)
        if layer.type == "1x1conv2d":
            kernel, stride = (1, 1), (1, 1)
        else:
            kernel = (min(layer.kernel_size, h), min(layer.kernel_size, w))
            stride = (1 if h == 1 else layer.stride, 1 if w == 1 else layer.stride)
        op = "DEPTHWISE_CONV_2D" if layer.type == "dwconv2d" else "CONV_2D"
        out_c = c if op == "DEPTHWISE_CONV_2D" else (filters or layer.filters)
        out = (math.ceil(h / stride[0]), math.ceil(w / stride[1]), out_c)
        return self.add(
            Node(op, name, (x,), out, kernel, stride, "same", layer.batch_norm, layer.relu)
        )

    def tie(self, outputs: list[int], name: str) -> int:
        """Adds parallel outputs after max-pooling each down to the smallest spatial size."""
        if len(outputs) == 1:
            return outputs[0]
        hmin = min(self.shape(o)[0] for o in outputs)
        wmin = min(self.shape(o)[1] for o in outputs)
        pooled = []
        for k, o in enumerate(outputs):
            h, w, c = self.shape(o)
            f = (_factor(h, hmin), _factor(w, wmin))
            if f != (1, 1):
                o = self.add(Node("MAX_POOL_2D", f"{name}_tie{k}", (o,), (hmin, wmin, c), f, f, "same"))
            pooled.append(o)
        acc = pooled[0]
        for k, o in enumerate(pooled[1:], start=1):
            acc = self.add(Node("ADD", f"{name}_add{k}", (acc, o), self.shape(acc)))
        return acc


def _factor(size: int, target: int) -> int:
    """The power-of-two pool stride that takes `size` to `target` under ceil division."""
    f = 1
    while math.ceil(size / f) != target:
        f *= 2
    return f


def lower(arch: Architecture) -> list[Node]:
    """The op graph of `arch` in execution order (node 0 is the input).

    Raises:
        SearchSpaceError: when `arch` is invalid.
    """
    return _lower(arch).nodes


def merged_names(arch: Architecture) -> dict[str, str]:
    """Layer names that the graph merged into another node (name -> name kept)."""
    return _lower(arch).aliases


def _lower(arch: Architecture) -> _Builder:
    validate(arch)
    g = _Builder()
    x = g.add(Node("INPUT", "input", (), tuple(arch.input_shape)))
    if arch.blocks and len(arch.input_shape) < 3:
        length = arch.input_shape[0]
        channels = arch.input_shape[1] if len(arch.input_shape) == 2 else 1
        x = g.add(Node("RESHAPE", "input_2d", (x,), (1, length, channels)))
    branch_input, pending = x, [x]
    for i, block in enumerate(arch.blocks):
        if not block.parallel:
            x = g.tie(pending, f"b{i}")
            branch_input = x
            for j, layer in enumerate(block.layers):
                x = g.conv(x, layer, f"b{i}l{j}")
            pending = [x]
            continue
        # A parallel block ends with the channels of the block it is added to (μNAS).
        target = g.shape(pending[0])[-1]
        x = branch_input
        last = len(block.layers) - 1
        for j, layer in enumerate(block.layers):
            x = g.conv(x, layer, f"b{i}l{j}", filters=target if j == last else None)
        if g.shape(x)[-1] != target:  # a depthwise last layer keeps its input's channels
            project = ConvLayer(type="1x1conv2d", filters=target, relu=False)
            x = g.conv(x, project, f"b{i}_proj")
        pending.append(x)
    x = g.tie(pending, f"b{len(arch.blocks)}")
    if arch.pooling is not None and len(g.shape(x)) == 3:
        h, w, c = g.shape(x)
        k = (min(arch.pooling.size, h), min(arch.pooling.size, w))
        op = "AVERAGE_POOL_2D" if arch.pooling.type == "avg" else "MAX_POOL_2D"
        x = g.add(Node(op, "pool", (x,), (h // k[0], w // k[1], c), k, k, "valid"))
    if len(g.shape(x)) > 1:
        x = g.add(Node("RESHAPE", "flatten", (x,), (math.prod(g.shape(x)),)))
    for k, units in enumerate(arch.dense):
        x = g.add(Node("FULLY_CONNECTED", f"d{k}", (x,), (units,), relu=True))
    g.add(Node("FULLY_CONNECTED", "classifier", (x,), (arch.num_classes,)))
    return g
