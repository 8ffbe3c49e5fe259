"""The torch builder: an nn.Module that computes exactly what the Keras twin computes.

The module takes channels-last input (N, *input_shape), the layout of the datasets, of Keras and
of TFLite, and works channels-first inside. 'same' padding is TensorFlow's, which pads the
extra row/column at the bottom/right when the total padding is odd (see `same_padding`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tinynas.space._arch import Architecture
from tinynas.space._graph import Node, lower

BN_EPSILON = 1e-3  # Keras' default; the twin uses the same


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same' padding (before, after) along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_hw(node_in: Node, node: Node) -> tuple[int, int, int, int]:
    h, w = node_in.shape[0], node_in.shape[1]
    top, bottom = same_padding(h, node.kernel[0], node.stride[0])
    left, right = same_padding(w, node.kernel[1], node.stride[1])
    return left, right, top, bottom


class TorchNet(nn.Module):
    """The network of one architecture; `nodes` is its lowered graph."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.nodes = lower(arch)
        self.layers = nn.ModuleDict()
        # one nn.ReLU per activated layer, so that metrics can hook the ReLU inputs
        self.relus = nn.ModuleDict()
        for node in self.nodes:
            if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                self.layers[node.name] = self._make(node)
            if node.relu:
                self.relus[node.name] = nn.ReLU()
        # the last op that reads each node's output, to free tensors early in forward()
        self._last_use = {i: i for i in range(len(self.nodes))}
        for i, node in enumerate(self.nodes):
            for j in node.inputs:
                self._last_use[j] = i

    def _make(self, node: Node) -> nn.Module:
        if node.op == "FULLY_CONNECTED":
            return nn.Linear(self.nodes[node.inputs[0]].shape[0], node.shape[0])
        in_c = self.nodes[node.inputs[0]].channels
        groups = in_c if node.op == "DEPTHWISE_CONV_2D" else 1
        conv = nn.Conv2d(in_c, node.channels, node.kernel, node.stride, groups=groups,
                         bias=not node.batch_norm)
        if not node.batch_norm:
            return conv
        return nn.Sequential(conv, nn.BatchNorm2d(node.channels, eps=BN_EPSILON))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
        values: dict[int, torch.Tensor] = {0: x}
        for i, node in enumerate(self.nodes[1:], start=1):
            values[i] = self._run_node(node, [values[j] for j in node.inputs])
            for j in node.inputs:
                if self._last_use[j] == i:
                    del values[j]
        return values[len(self.nodes) - 1]

    def _run_node(self, node: Node, xs: list[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        if node.op == "RESHAPE":
            if node.name == "flatten":
                if x.dim() == 4:
                    x = x.permute(0, 2, 3, 1)  # flatten in channels-last order, as Keras
                return x.flatten(1)
            _, length, channels = node.shape
            return x.reshape(x.shape[0], length, channels).permute(0, 2, 1).unsqueeze(2)
        if node.op == "ADD":
            return xs[0] + xs[1]
        if node.op == "FULLY_CONNECTED":
            y = self.layers[node.name](x)
            return self.relus[node.name](y) if node.relu else y
        src = self.nodes[node.inputs[0]]
        if node.op == "MAX_POOL_2D":
            if node.padding == "same":
                x = F.pad(x, _pad_hw(src, node), value=float("-inf"))
            return F.max_pool2d(x, node.kernel, node.stride)
        if node.op == "AVERAGE_POOL_2D":
            return F.avg_pool2d(x, node.kernel, node.stride)
        y = self.layers[node.name](F.pad(x, _pad_hw(src, node)))
        return self.relus[node.name](y) if node.relu else y


def build_torch(arch: Architecture) -> TorchNet:
    """A freshly initialised torch module for `arch` (torch's default initialisation)."""
    return TorchNet(arch)
