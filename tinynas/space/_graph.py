"""Lowering: an Architecture becomes the concrete op graph that every consumer shares.

The torch module, the Keras twin and every estimator walk the same list of `Node`s, so they
cannot disagree about a shape. Node ops are named after the TFLite builtin each one becomes
after int8 conversion (batch norm and ReLU are folded into the convolution before it).

Shape rules (TensorFlow's, batch 1, channels last):
- 'same' padding: out = ceil(in / stride); kernels are clipped to the feature map (μNAS).
- a pre-pool is a max pool of min(2, size) per axis, stride = kernel, 'same'.
- the final pooling is 'valid' with kernel = stride = min(P, size): out = floor(in / P); a
  global pooling is an average pooling whose kernel is the whole map: out = 1 x 1 x C.
- a 1-D input (L,) or (L, C) is reshaped to (1, L, C): convolutions run along L only.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

from tinynas.space._arch import Architecture, ConvBlock, ConvLayer
from tinynas.space._validate import validate


class Node(NamedTuple):
    """One op of the lowered graph (the network input is node 0, op "INPUT")."""

    # op: INPUT, RESHAPE, MAX_POOL_2D, AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, ADD or
    # FULLY_CONNECTED
    op: str
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
        return math.prod(self.shape)  # = bytes of the int8 tensor


# Weightless ops that the TFLite converter merges when two of them read the same tensor with
# the same parameters (common-subexpression elimination); the graph merges them too.
_MERGEABLE = ("MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE")


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.aliases: dict[str, str] = {}  # name of a merged node -> name of the one kept
        self._mergeable: dict[Node, int] = {}  # weightless node with a blank name -> index

    def add(self, node: Node) -> int:
        if node.op in _MERGEABLE:
            key = node._replace(name="")
            if key in self._mergeable:
                kept = self._mergeable[key]
                self.aliases[node.name] = self.nodes[kept].name
                return kept
            self._mergeable[key] = len(self.nodes)
        self.nodes.append(node)
        return len(self.nodes) - 1

    def shape(self, i: int) -> tuple[int, ...]:
        return self.nodes[i].shape

    def pre_pool(self, x: int, name: str) -> int:
        h, w, c = self.nodes[x].shape
        if h == 1 and w == 1:
            return x  # nothing to pool, as in μNAS
        k = (min(2, h), min(2, w))
        out = (-(-h // k[0]), -(-w // k[1]), c)  # ceil division
        return self.add(Node("MAX_POOL_2D", name, (x,), out, k, k, "same"))

    def conv(self, x: int, layer: ConvLayer, name: str, filters: int | None = None) -> int:
        if layer.pre_pool:
            x = self.pre_pool(x, name + "_pool")
        h, w, c = self.nodes[x].shape
        if layer.type == "1x1conv2d":
            kernel = stride = (1, 1)
            s = 1
        else:
            k = layer.kernel_size
            kernel = (min(h, k), min(w, k))
            # equal strides even along an axis of size 1 (TensorFlow's float depthwise kernel
            # takes no other); 'same' padding keeps that axis at 1 either way
            s = layer.stride
            stride = (s, s)
        if layer.type == "dwconv2d":
            op, out_c = "DEPTHWISE_CONV_2D", c
        else:
            op, out_c = "CONV_2D", filters or layer.filters
        out = (-(-h // s), -(-w // s), out_c)  # ceil division ('same' padding)
        self.nodes.append(
            Node(op, name, (x,), out, kernel, stride, "same", layer.batch_norm, layer.relu)
        )  # convolutions are never merged (see `add`)
        return len(self.nodes) - 1

    def copy(self) -> _Builder:
        other = _Builder()
        other.nodes = list(self.nodes)
        other.aliases = dict(self.aliases)
        other._mergeable = dict(self._mergeable)
        return other

    def segment(self, x: int, index: int, block: ConvBlock, target: int | None) -> int:
        """Emits one block's layers from `x`; a branch ends with `target` channels (μNAS)."""
        last = len(block.layers) - 1
        for j, layer in enumerate(block.layers):
            x = self.conv(x, layer, f"b{index}l{j}", filters=target if j == last else None)
        if target is not None and self.shape(x)[-1] != target:
            # a depthwise last layer keeps its input's channels: project them
            project = ConvLayer(type="1x1conv2d", filters=target, relu=False)
            x = self.conv(x, project, f"b{index}_proj")
        return x

    def group(self, x: int, blocks: list[tuple[int, ConvBlock]]) -> int:
        """A serial block and the parallel blocks that branch from its input, added up.

        The segments (blocks) run one after another; each is max-pooled to the smallest
        spatial size and added to the running sum as soon as it ends. Of the orders of the
        segments (all of them up to `_MAX_PERMUTED` segments, else largest first) the one with
        the lowest peak of live activation bytes is kept."""
        if len(blocks) == 1:
            return self.segment(x, blocks[0][0], blocks[0][1], None)
        probe, chains = self.copy(), []
        target = None
        for index, block in blocks:
            before = len(probe.nodes)
            out = probe.segment(x, index, block, target)
            target = target or probe.shape(out)[-1]
            chains.append(probe.nodes[before:])
        shapes = [chain[-1].shape if chain else self.shape(x) for chain in chains]
        size = (min(s[0] for s in shapes), min(s[1] for s in shapes))
        orders = list(itertools.permutations(range(len(blocks))))
        if len(blocks) > _MAX_PERMUTED:
            orders = [tuple(sorted(range(len(blocks)), key=lambda k: -math.prod(shapes[k])))]
        sum_bytes = size[0] * size[1] * (target or 0)
        best = min(orders, key=lambda o: _group_peak_bytes(
            [chains[k] for k in o], self.nodes[x].out_elements, sum_bytes))
        return self.emit_group(x, blocks, best, target or 0, size)

    def emit_group(self, x: int, blocks: list[tuple[int, ConvBlock]], order: tuple[int, ...],
                   target: int, size: tuple[int, int]) -> int:
        acc = None
        for k in order:
            index, block = blocks[k]
            out = self.segment(x, index, block, None if k == 0 else target)
            h, w, c = self.shape(out)
            f = (_factor(h, size[0]), _factor(w, size[1]))
            if f != (1, 1):
                out = self.add(Node("MAX_POOL_2D", f"b{index}_tie", (out,), (*size, c), f, f,
                                    "same"))
            if acc is not None:
                out = self.add(Node("ADD", f"b{index}_add", (acc, out), (*size, c)))
            acc = out
        assert acc is not None
        return acc


_MAX_PERMUTED = 4  # 24 orders at most


def _group_peak_bytes(chains: list[list[Node]], input_bytes: int, sum_bytes: int) -> int:
    """Peak live activation bytes of a group whose segments (chains of ops) run in this order:
    each op holds its input and output; the group input stays alive until the last segment
    has read it, and the running sum from the end of the first segment on."""
    peak = 0
    for p, chain in enumerate(chains):
        held = sum_bytes if p else 0
        x_alive = input_bytes if p < len(chains) - 1 else 0
        prev = input_bytes
        for k, node in enumerate(chain):
            extra = x_alive if k else 0  # the first op of a segment reads the input itself
            peak = max(peak, held + extra + prev + node.out_elements)
            prev = node.out_elements
        peak = max(peak, held + x_alive + prev + (sum_bytes if p else 0))  # tie pool, add
    return peak


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
    groups: list[list[tuple[int, ConvBlock]]] = []
    for i, block in enumerate(arch.blocks):
        if block.parallel:
            groups[-1].append((i, block))
        else:
            groups.append([(i, block)])
    for group in groups:
        x = g.group(x, group)
    if arch.pooling is not None and len(g.shape(x)) == 3:
        h, w, c = g.shape(x)
        k = (min(arch.pooling.size, h), min(arch.pooling.size, w))
        if arch.pooling.type == "global":  # one window over the whole map: 1 x 1 x C
            k = (h, w)
        op = "MAX_POOL_2D" if arch.pooling.type == "max" else "AVERAGE_POOL_2D"
        x = g.add(Node(op, "pool", (x,), (h // k[0], w // k[1], c), k, k, "valid"))
    if len(g.shape(x)) > 1:
        x = g.add(Node("RESHAPE", "flatten", (x,), (math.prod(g.shape(x)),)))
    for i, units in enumerate(arch.dense):
        x = g.add(Node("FULLY_CONNECTED", f"d{i}", (x,), (units,), relu=True))
    g.add(Node("FULLY_CONNECTED", "classifier", (x,), (arch.num_classes,)))
    return g
