"""Params, MACs, flash bytes and peak RAM of an architecture: pure functions, no tensors.

Flash is the size of the int8 .tflite that `tinynas.convert` writes (strings stripped); RAM is
the arena TFLM allocates for it. Both are predicted from the TFLite graph the architecture
converts to (`tflite_graph`). Constants marked *calibrated* were fitted by least squares to
models converted by tinynas (tensorflow-cpu 2.21, tflite-micro 0.dev20261023182759) and are
checked against fresh conversions by benchmarks/estimator_accuracy.py. The flash constants were
fitted on 200 conversions of seeded random architectures with trained-like weights (seeds
1000-1199 of that benchmark) and are checked on other seeds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from tinynas.estimators._planner import ALIGNMENT_BYTES, Buffer, align_up, plan
from tinynas.estimators._tflite_graph import TFLiteGraph, tflite_graph
from tinynas.space import Architecture, Node, lower

# --- flash: the flatbuffer --------------------------------------------------------------------
# Per-channel quantisation stores a float32 scale and an int64 zero point per channel (schema).
QUANT_BYTES_PER_CHANNEL = 12
FLATBUFFER_FIXED_BYTES = 534  # calibrated: header, model table, subgraph, metadata buffers
CONSTANT_TENSOR_BYTES = 141  # calibrated: tensor table, its buffer entry, shape, quant tables
OPERATOR_CODE_BYTES = 51  # calibrated: one per distinct op type
OP_TABLE_BYTES = {  # calibrated: the op, its options and its output tensor
    "CONV_2D": 26, "DEPTHWISE_CONV_2D": 38, "FULLY_CONNECTED": 1, "MAX_POOL_2D": 143,
    "AVERAGE_POOL_2D": 134, "ADD": 124, "RESHAPE": 9,
}

# --- RAM: the TFLM arena (x86-64 build of TFLM: 8-byte pointers) --------------------------------
EVAL_TENSOR_BYTES = 24  # sizeof(TfLiteEvalTensor): data and dims pointers, type
NODE_AND_REGISTRATION_BYTES = 64  # sizeof(NodeAndRegistration)
IO_TENSOR_BYTES = 192  # TfLiteTensor + quantisation of the one input and the one output
ARENA_FIXED_BYTES = 526  # calibrated: allocators, subgraph allocations, planner
OP_DATA_BYTES = {  # calibrated: kernel OpData (persistent buffer) + builtin params, per op
    "CONV_2D": 108, "DEPTHWISE_CONV_2D": 108, "FULLY_CONNECTED": 112, "MAX_POOL_2D": 72,
    "AVERAGE_POOL_2D": 72, "ADD": 72, "RESHAPE": 36,
}


@dataclass(frozen=True)
class ArenaEstimate:
    """Predicted TFLM arena: planned activations (head) plus persistent data (tail)."""

    head_bytes: int
    tail_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.head_bytes + self.tail_bytes


def params(arch: Architecture, nodes: list[Node] | None = None) -> int:
    """Trainable parameters of the float network (weights, biases, batch-norm scale/shift)."""
    nodes = nodes or lower(arch)
    total = 0
    for node in nodes:
        if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        src = nodes[node.inputs[0]]
        if node.op == "FULLY_CONNECTED":
            total += math.prod(src.shape) * node.shape[0] + node.shape[0]
            continue
        kh, kw = node.kernel
        per_out = kh * kw * (1 if node.op == "DEPTHWISE_CONV_2D" else src.channels)
        total += per_out * node.channels + node.channels * (2 if node.batch_norm else 1)
    return total


def macs(arch: Architecture, graph: TFLiteGraph | None = None) -> int:
    """Multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED at batch 1."""
    graph = graph or tflite_graph(arch)
    return sum(op.macs for op in graph.ops)


def flash_bytes(arch: Architecture, graph: TFLiteGraph | None = None) -> int:
    """Size in bytes of the int8 .tflite file of `arch`."""
    graph = graph or tflite_graph(arch)
    data = tables = constants = quant_channels = 0
    for op in graph.ops:
        data += op.const_bytes
        tables += OP_TABLE_BYTES[op.op]
        constants += op.const_count
        quant_channels += op.const_quant_channels
    quant_channels += len(graph.activations)  # one scale each
    return (
        FLATBUFFER_FIXED_BYTES
        + data
        + CONSTANT_TENSOR_BYTES * constants
        + QUANT_BYTES_PER_CHANNEL * quant_channels
        + OPERATOR_CODE_BYTES * len({op.op for op in graph.ops})
        + tables
    )


def lifetimes(graph: TFLiteGraph) -> list[Buffer]:
    """Activation buffers with TFLM's lifetimes: model inputs are created at scope 0, op k
    runs at scope k + 1, the model output lives to the end (micro_allocation_info.cc)."""
    n = len(graph.activations)
    first = [0] * n  # every op output has one producer; the input is created at scope 0
    last = [0] * n
    for scope, op in enumerate(graph.ops, start=1):
        first[op.output] = last[op.output] = scope
        for t in op.inputs:
            last[t] = scope
    mask = ALIGNMENT_BYTES - 1
    return [Buffer((t.nbytes + mask) & ~mask, first[i], last[i])  # aligned as align_up
            for i, t in enumerate(graph.activations)]


def arena(
    arch: Architecture, graph: TFLiteGraph | None = None, buffers: list[Buffer] | None = None
) -> ArenaEstimate:
    """The TFLM arena of the int8 model of `arch` (reference kernels, x86-64 build)."""
    graph = graph or tflite_graph(arch)
    _, head = plan(buffers or lifetimes(graph))
    per_channel = sum(2 * align_up(4 * op.out_channels) for op in graph.ops if op.out_channels)
    tail = (
        ARENA_FIXED_BYTES
        + IO_TENSOR_BYTES
        + EVAL_TENSOR_BYTES * graph.tensor_count
        + NODE_AND_REGISTRATION_BYTES * len(graph.ops)
        + sum(OP_DATA_BYTES[op.op] for op in graph.ops)
        + per_channel  # output multiplier and shift, int32 per channel
    )
    return ArenaEstimate(head, tail)


def unas_peak_bytes(
    arch: Architecture, graph: TFLiteGraph | None = None, buffers: list[Buffer] | None = None
) -> int:
    """Peak activation RAM as μNAS counts it (resource_models/: the largest set of live int8
    activation tensors, network input excluded, ADD and flatten done in place), for comparison
    with published results. Branches run in the graph's order."""
    graph = graph or tflite_graph(arch)
    buffers = buffers or lifetimes(graph)
    last = [b.last_use for b in buffers]
    owner = list(range(len(buffers)))  # the tensor whose memory each tensor lives in
    for op in graph.ops:
        if op.op in ("ADD", "RESHAPE"):
            owner[op.output] = owner[op.inputs[0]]
            last[owner[op.output]] = max(last[owner[op.output]], buffers[op.output].last_use)
    live_bytes = [0] * (len(graph.ops) + 2)  # difference array over scopes
    for i, b in enumerate(buffers):
        if i == 0 or owner[i] != i:
            continue
        live_bytes[b.first_use] += graph.activations[i].nbytes
        live_bytes[last[i] + 1] -= graph.activations[i].nbytes
    peak = running = 0
    for delta in live_bytes:
        running += delta
        peak = max(peak, running)
    return peak


def op_counts(graph: TFLiteGraph) -> Counter[str]:
    return Counter(op.op for op in graph.ops)
