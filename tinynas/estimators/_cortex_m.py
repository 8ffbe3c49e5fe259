"""The TFLM tensor arena on a 32-bit Cortex-M with CMSIS-NN kernels, for int8 models.

Models what ``MicroInterpreter::arena_used_bytes()`` returns after ``AllocateTensors()`` on a
Cortex-M4 (DSP extension, no MVE, GCC) running TFLM at commit 90b983c2 with the CMSIS-NN
kernels of CMSIS-NN commit 4ab83cc3 (tensorflow/lite/micro/kernels/cmsis_nn/*.cc; RESHAPE is
TFLM's reference kernel). Nothing is fitted: every term is restated from the sources.

Head (non-persistent section). tensorflow/lite/micro/micro_allocator.cc,
MicroAllocator::CommitStaticMemoryPlan: the greedy plan (`plan`, _planner.py) of every
non-constant tensor (micro_allocation_info.cc, AllocationInfoBuilder::MarkAllocationLifetimes:
inputs from scope 0, op k's tensors at scope k + 1, model outputs to the end) followed by the
scratch buffers that kernels request in Prepare (RequestScratchBufferInArena), each alive at
its op's scope only; sizes rounded up to MicroArenaBufferAlignment() = 16. The head is the
plan's size (ReserveNonPersistentOverlayMemory). Scratch sizes are CMSIS-NN's rules for the
DSP build: Source/ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c,
arm_depthwise_conv_get_buffer_sizes_s8.c, Source/PoolingFunctions/
arm_avgpool_get_buffer_sizes_s8.c, Source/FullyConnectedFunctions/
arm_fully_connected_get_buffer_sizes_s8.c, as the wrappers call them.

Tail (persistent section). Every AllocatePersistentBuffer in the order TFLM makes it, each
moving the tail down to an address aligned to the allocation's alignment
(arena_allocator/single_arena_buffer_allocator.cc, AllocatePersistentBuffer: alignof(T) for
TFLM's own structs, 16 for kernel buffers via MicroAllocator::AllocatePersistentBuffer), from a
16-byte aligned arena end:
    MicroAllocator::Create: SingleArenaBufferAllocator, GreedyMemoryPlanner, MicroAllocator;
    MicroAllocator::StartModelAllocation: MicroBuiltinDataAllocator, SubgraphAllocations, one
        TfLiteEvalTensor per tensor of the subgraph, one NodeAndRegistration per op;
    MicroInterpreter::PrepareNodeAndRegistrationDataFromFlatbuffer: each op's builtin params
        (tensorflow/lite/core/api/flatbuffer_conversions.cc, Parse*: AllocatePOD<T>);
    MicroInterpreterGraph::InitSubgraphs: each kernel's OpData (the wrappers' Init);
    MicroInterpreterGraph::PrepareSubgraphs: per-channel output multiplier and shift, int32
        each (conv.cc, depthwise_conv.cc Prepare; fully_connected_common.cc,
        CalculateOpDataFullyConnected, only for per-channel weights);
    MicroAllocator::AllocateScratchBufferHandles: one ScratchBufferHandle per scratch buffer;
    MicroInterpreter::AllocateTensors: for the input and the output, the TfLiteTensor* array
        (16-aligned), the TfLiteTensor, its TfLiteAffineQuantization and zero-point
        TfLiteIntArray (micro_allocator.cc, InitializeTfLiteTensorFromFlatbuffer).
Struct sizes are those of the firmware's build (arm-none-eabi-g++, -mcpu=cortex-m4, defines
TF_LITE_STATIC_MEMORY and CMSIS_NN): 4-byte pointers, ints and enums.

Ops covered: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, ADD,
RESHAPE, SOFTMAX (the ops of tinynas's search space and of the MLPerf Tiny models); any other
op raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from tinynas.estimators._planner import Buffer, align_up, plan
from tinynas.estimators._resources import ArenaEstimate, lifetimes
from tinynas.estimators._tflite_graph import TFLiteGraph, tflite_graph
from tinynas.space import Architecture, Node, lower

if TYPE_CHECKING:
    from tinynas.tflite_file import TFLiteModel

# --- sizeof / alignof in the 32-bit build ---------------------------------------------------
KERNEL_ALIGNMENT_BYTES = 16  # MicroArenaBufferAlignment(): context->AllocatePersistentBuffer
# MicroAllocator::Create and StartModelAllocation, in order: (sizeof, alignof)
ALLOCATOR_STRUCTS = (
    (36, 4),  # SingleArenaBufferAllocator: 2 vtables, 5 pointers, temp checksum and count
    (44, 4),  # GreedyMemoryPlanner: vtable, 5 array pointers, 4 ints, a flag
    (36, 4),  # MicroAllocator: vtable, 4 pointers, a flag, 3 request and head fields
    (8, 4),  # MicroBuiltinDataAllocator (micro_allocator.cc): vtable, allocator pointer
    (8, 4),  # SubgraphAllocations: node_and_registrations, tensors (one subgraph)
)
EVAL_TENSOR_BYTES = 12  # TfLiteEvalTensor: data, dims, type
NODE_AND_REGISTRATION_BYTES = 32  # TfLiteNode (28, static memory) + registration pointer
SCRATCH_HANDLE_BYTES = 4  # ScratchBufferHandle: data pointer
TENSOR_POINTER_BYTES = 4  # MicroInterpreter input_tensors_ / output_tensors_ (one each)
TFLITE_TENSOR_BYTES = 32  # TfLiteTensor under TF_LITE_STATIC_MEMORY
AFFINE_QUANTIZATION_BYTES = 12  # TfLiteAffineQuantization: scale, zero_point, dimension
INT_ARRAY_BYTES = 4  # TfLiteIntArrayGetSizeInBytes(n) = 4 + 4 n
STRUCT_ALIGNMENT_BYTES = 4  # alignof of all the structs above
# builtin params (flatbuffer_conversions.cc): (sizeof, alignof) of the struct each op's parser
# allocates; PAD, QUANTIZE and the like allocate none
BUILTIN_PARAMS = {
    "CONV_2D": (28, 4),  # TfLiteConvParams
    "DEPTHWISE_CONV_2D": (28, 4),  # TfLiteDepthwiseConvParams
    "FULLY_CONNECTED": (5, 1),  # TfLiteFullyConnectedParams: enum (1 byte) and 4 bools
    "AVERAGE_POOL_2D": (40, 4),  # TfLitePoolParams
    "MAX_POOL_2D": (40, 4),
    "ADD": (2, 1),  # TfLiteAddParams: enum (1 byte), bool
    "RESHAPE": (36, 4),  # TfLiteReshapeParams: shape[8], num_dimensions
    "SOFTMAX": (4, 4),  # TfLiteSoftmaxParams: float beta
}
# kernel OpData allocated in Init (kernels/cmsis_nn/*.cc); the reference RESHAPE has no Init
OP_DATA_BYTES = {
    "CONV_2D": 60,  # conv.cc OpData: OpDataConv (56) + buffer_idx
    "DEPTHWISE_CONV_2D": 60,  # depthwise_conv.cc OpData: OpDataConv + buffer_idx
    "FULLY_CONNECTED": 72,  # fully_connected.cc OpData: OpDataFullyConnected (48) + 6 words
    "AVERAGE_POOL_2D": 36,  # pooling.cc OpData: OpDataPooling (32) + buffer_idx
    "MAX_POOL_2D": 36,
    "ADD": 60,  # add.cc OpData
    "SOFTMAX": 64,  # softmax.cc CMSISNNSoftmaxParams: SoftmaxParams (56, double) + 2 words
    "RESHAPE": 0,
}


class CortexMOp(NamedTuple):
    """What the arena needs of one op as TFLM and the CMSIS-NN wrappers prepare it."""

    op: str
    channels: int  # entries of the per-channel multiplier and shift arrays (0: none)
    scratch_bytes: int  # the scratch buffer it requests (0: none)


# --- CMSIS-NN scratch-buffer rules (DSP build, GCC) -------------------------------------------


def cmsis_conv_scratch_bytes(
    in_channels: int, kernel: tuple[int, int], padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1), filter_channels: int | None = None,
) -> int:
    """arm_convolve_wrapper_s8_get_buffer_size_dsp: none for a 1x1 convolution (its fast path
    asks for 2 * C int16 only when built with Arm Compiler 6), else the im2col buffer of
    arm_convolve_s8_get_buffer_size, two columns of int16 rounded up to 4 elements (also for
    the 1xN path)."""
    kh, kw = kernel
    if (padding == (0, 0) and kernel == (1, 1) and dilation == (1, 1)
            and in_channels == (filter_channels or in_channels)):  # arm_nn_is_convolve_1x1
        return 0
    return 2 * 2 * align_up(kh * kw * in_channels, 4)


def cmsis_depthwise_scratch_bytes(
    in_channels: int, out_channels: int, kernel: tuple[int, int], padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> int:
    """arm_depthwise_conv_wrapper_s8_get_buffer_size (no MVE): a depth multiplier of 1 (batch
    1, no dilation) runs arm_depthwise_conv_s8_opt with an int16 buffer of C * kh * kw, except
    3x3 kernels with padding <= 1 (arm_depthwise_conv_3x3_s8, none); other shapes none."""
    if in_channels != out_channels or dilation != (1, 1):
        return 0
    if kernel == (3, 3) and max(padding) <= 1:
        return 0
    return 2 * in_channels * kernel[0] * kernel[1]


def cmsis_avg_pool_scratch_bytes(channels: int) -> int:
    """arm_avgpool_s8_get_buffer_size_dsp: one int32 accumulator per channel."""
    return 4 * channels


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """TFLite's padding of one axis under 'same' (kernels/padding.h, ComputePaddingWithOffset:
    half the total, rounded down)."""
    out = -(-size // stride)
    return max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0) // 2


# --- the arena --------------------------------------------------------------------------------


class _Tail:
    """The persistent section: SingleArenaBufferAllocator::AllocatePersistentBuffer moves the
    tail down by `size` and then down to a multiple of `alignment`."""

    def __init__(self) -> None:
        self.address = 0  # relative to the arena's end, which is 16-byte aligned

    def take(self, size_bytes: int, alignment: int = STRUCT_ALIGNMENT_BYTES) -> None:
        self.address = (self.address - size_bytes) // alignment * alignment

    @property
    def used_bytes(self) -> int:
        return -self.address


def _tail_bytes(ops: Sequence[CortexMOp], tensor_count: int, io_channels: Sequence[int]) -> int:
    """Persistent bytes; `io_channels`: quantisation scales of the model input and output."""
    tail = _Tail()
    for size, alignment in ALLOCATOR_STRUCTS:
        tail.take(size, alignment)
    tail.take(EVAL_TENSOR_BYTES * tensor_count)
    tail.take(NODE_AND_REGISTRATION_BYTES * len(ops))
    for op in ops:
        if op.op in BUILTIN_PARAMS:
            tail.take(*BUILTIN_PARAMS[op.op])
    for op in ops:  # Init
        if OP_DATA_BYTES[op.op]:
            tail.take(OP_DATA_BYTES[op.op], KERNEL_ALIGNMENT_BYTES)
    for op in ops:  # Prepare: multiplier, then shift
        for _ in range(2 if op.channels else 0):
            tail.take(4 * op.channels, KERNEL_ALIGNMENT_BYTES)
    scratch_count = sum(1 for op in ops if op.scratch_bytes)
    if scratch_count:
        tail.take(SCRATCH_HANDLE_BYTES * scratch_count)
    for channels in io_channels:  # input, then output
        tail.take(TENSOR_POINTER_BYTES, KERNEL_ALIGNMENT_BYTES)
        tail.take(TFLITE_TENSOR_BYTES)
        if channels:
            tail.take(AFFINE_QUANTIZATION_BYTES)
            tail.take(INT_ARRAY_BYTES + 4 * channels)
    return tail.used_bytes


def _arena(
    ops: Sequence[CortexMOp], tensors: list[Buffer], tensor_count: int,
    io_channels: Sequence[int],
) -> ArenaEstimate:
    """`tensors`: the planned tensors in tensor order; scratch buffers follow them."""
    unknown = sorted({op.op for op in ops} - set(OP_DATA_BYTES))
    if unknown:
        raise ValueError(f"no Cortex-M arena model for {', '.join(unknown)}")
    scratch = [Buffer(align_up(op.scratch_bytes), k, k)
               for k, op in enumerate(ops, start=1) if op.scratch_bytes]
    _, head = plan(tensors + scratch)
    return ArenaEstimate(head, _tail_bytes(ops, tensor_count, io_channels))


# --- architectures ----------------------------------------------------------------------------


def _op_nodes(graph: TFLiteGraph, nodes: list[Node]) -> list[Node | None]:
    """The lowered node of each op of `graph`; None for the RESHAPE the converter puts before
    an ADD operand (its output has no batch dimension: see _tflite_graph.py)."""
    with_ops = iter(n for i, n in enumerate(nodes) if i > 0 and not _folded(n, nodes))
    out: list[Node | None] = []
    for op in graph.ops:
        if op.op == "RESHAPE" and len(graph.activations[op.output].shape) == 1:
            out.append(None)
            continue
        node = next(with_ops)
        if node.op != op.op:
            raise AssertionError(f"op {op.op} does not match node {node.name} ({node.op})")
        out.append(node)
    return out


def _folded(node: Node, nodes: list[Node]) -> bool:
    """A flatten of a 1x1 map: FULLY_CONNECTED reads it directly (tflite_graph)."""
    return node.name == "flatten" and nodes[node.inputs[0]].shape[:-1] == (1, 1)


def _node_op(graph: TFLiteGraph, k: int, node: Node | None) -> CortexMOp:
    op = graph.ops[k]
    base = CortexMOp(op.op, 0, 0)
    if node is None:
        return base
    in_shape = graph.activations[op.inputs[0]].shape  # (1, H, W, C) or (1, N)
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        _, h, w, c = in_shape
        padding = (0, 0)
        if node.padding == "same":
            padding = (same_padding(h, node.kernel[0], node.stride[0]),
                       same_padding(w, node.kernel[1], node.stride[1]))
        if op.op == "CONV_2D":
            scratch = cmsis_conv_scratch_bytes(c, node.kernel, padding)
        else:
            scratch = cmsis_depthwise_scratch_bytes(c, node.channels, node.kernel, padding)
        return base._replace(channels=node.channels, scratch_bytes=scratch)
    if op.op == "FULLY_CONNECTED":  # per-channel weights: one scale per unit, if more than one
        return base._replace(channels=op.out_channels if op.out_channels > 1 else 0)
    if op.op == "AVERAGE_POOL_2D":
        return base._replace(scratch_bytes=cmsis_avg_pool_scratch_bytes(node.channels))
    return base


def cortex_m_ops(arch: Architecture, graph: TFLiteGraph | None = None) -> list[CortexMOp]:
    """The ops of the int8 model of `arch` with the per-channel data and scratch buffers the
    CMSIS-NN kernels allocate for them."""
    nodes = lower(arch)
    graph = graph or tflite_graph(arch, nodes)
    return [_node_op(graph, k, node) for k, node in enumerate(_op_nodes(graph, nodes))]


def cortex_m_arena(arch: Architecture, graph: TFLiteGraph | None = None) -> ArenaEstimate:
    """The TFLM arena of the int8 model of `arch` on a Cortex-M with CMSIS-NN (32-bit)."""
    graph = graph or tflite_graph(arch)
    ops = cortex_m_ops(arch, graph)
    return _arena(ops, lifetimes(graph), graph.tensor_count, (1, 1))  # per-tensor I/O


# --- .tflite files ----------------------------------------------------------------------------

_TYPE_BYTES = {"FLOAT32": 4, "FLOAT16": 2, "INT32": 4, "UINT8": 1, "INT64": 8, "BOOL": 1,
               "INT16": 2, "INT8": 1, "FLOAT64": 8, "UINT32": 4, "UINT16": 2}


class _FileGraph:
    """The main subgraph of a .tflite file, as TFLM's allocator sees it."""

    def __init__(self, data: bytes) -> None:
        from tinynas.tflite_file import enum_names, schema_module

        self.schema = schema_module()
        self.model = self.schema.Model.GetRootAs(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("no Cortex-M arena model for a model of several subgraphs")
        self.sub = self.model.Subgraphs(0)
        self.op_names = enum_names(self.schema.BuiltinOperator)
        self.type_names = enum_names(self.schema.TensorType)

    def shape(self, t: int) -> tuple[int, ...]:
        tensor = self.sub.Tensors(t)
        return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()

    def nbytes(self, t: int) -> int:
        """TfLiteEvalTensorByteLength."""
        dtype = self.type_names.get(self.sub.Tensors(t).Type(), "")
        if dtype not in _TYPE_BYTES:
            raise ValueError(f"no Cortex-M arena model for tensors of type {dtype or '?'}")
        return math.prod(self.shape(t)) * _TYPE_BYTES[dtype]

    def is_constant(self, t: int) -> bool:
        """GetFlatbufferTensorBuffer: a buffer with data."""
        index = self.sub.Tensors(t).Buffer()
        buffers = self.model.BuffersLength()
        return 0 < index < buffers and self.model.Buffers(index).DataLength() > 0

    def planned(self, t: int) -> bool:
        """AllocationInfoBuilder::InitializeAllocationInfo's needs_allocating."""
        return not self.is_constant(t) and not self.sub.Tensors(t).IsVariable() and (
            self.nbytes(t) > 0)

    def scales(self, t: int) -> int:
        q = self.sub.Tensors(t).Quantization()
        if q is None or q.ZeroPointLength() == 0:
            return 0
        return int(q.ScaleLength())

    def op_name(self, op: Any) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        return self.op_names.get(max(code.DeprecatedBuiltinCode(), code.BuiltinCode()), "?")

    def options(self, op: Any, table: str) -> Any:
        raw = op.BuiltinOptions()
        if raw is None or op.BuiltinOptionsType() != getattr(self.schema.BuiltinOptions, table):
            return None
        reader = getattr(self.schema, table)()
        reader.Init(raw.Bytes, raw.Pos)
        return reader


def _window(g: _FileGraph, op: Any, table: str, in_t: int, w_t: int,
            out_t: int) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Kernel, padding and dilation of a convolution (ComputePaddingHeightWidth)."""
    opts = g.options(op, table)
    stride = (opts.StrideH(), opts.StrideW()) if opts else (1, 1)
    dilation = (opts.DilationHFactor(), opts.DilationWFactor()) if opts else (1, 1)
    _, kh, kw, _ = g.shape(w_t)
    _, h, w, _ = g.shape(in_t)
    _, oh, ow, _ = g.shape(out_t)
    padding = tuple(
        max((o - 1) * s + (k - 1) * d + 1 - i, 0) // 2
        for o, s, k, d, i in zip((oh, ow), stride, (kh, kw), dilation, (h, w)))
    return (kh, kw), (padding[0], padding[1]), (dilation[0], dilation[1])


def _ids(vector: Any, length: int) -> list[int]:
    """A flatbuffer int vector as a list (its AsNumpy accessor returns 0 when it is empty)."""
    return [int(t) for t in vector()] if length else []


def _file_op(g: _FileGraph, index: int) -> CortexMOp:
    op = g.sub.Operators(index)
    name = g.op_name(op)
    ins = _ids(op.InputsAsNumpy, op.InputsLength())
    out = int(op.Outputs(0))
    base = CortexMOp(name, 0, 0)
    if name == "CONV_2D":
        kernel, padding, dilation = _window(g, op, "Conv2DOptions", ins[0], ins[1], out)
        c = g.shape(ins[0])[3]
        scratch = cmsis_conv_scratch_bytes(c, kernel, padding, dilation, g.shape(ins[1])[3])
        return base._replace(channels=g.shape(ins[1])[0], scratch_bytes=scratch)
    if name == "DEPTHWISE_CONV_2D":
        kernel, padding, dilation = _window(g, op, "DepthwiseConv2DOptions", ins[0], ins[1],
                                            out)
        c_out = g.shape(ins[1])[3]
        scratch = cmsis_depthwise_scratch_bytes(g.shape(ins[0])[3], c_out, kernel, padding,
                                                dilation)
        return base._replace(channels=c_out, scratch_bytes=scratch)
    if name == "FULLY_CONNECTED":
        return _fully_connected(g, ins, out, base)
    if name == "AVERAGE_POOL_2D":
        return base._replace(scratch_bytes=cmsis_avg_pool_scratch_bytes(g.shape(out)[-1]))
    return base


def _fully_connected(g: _FileGraph, ins: list[int], out: int, base: CortexMOp) -> CortexMOp:
    """Per-channel arrays for per-channel weights; for per-tensor weights and an output of
    rank > 2 whose depth is a multiple of 4, the wrapper's conv-1x1 scratch of two int32 per
    output channel (cmsis_nn/fully_connected.cc, Prepare)."""
    scales = g.scales(ins[1])
    if scales > 1:
        return base._replace(channels=scales)
    shape = g.shape(out)
    if len(shape) > 2 and g.shape(ins[1])[-1] % 4 == 0:
        return base._replace(scratch_bytes=2 * 4 * shape[-1])
    return base


def cortex_m_file_arena(model: TFLiteModel) -> ArenaEstimate:
    """The TFLM arena of a .tflite file (as `tinynas.tflite_file.read_tflite` reads it, with
    its bytes) on a Cortex-M with CMSIS-NN (32-bit).

    Raises:
        ValueError: an op or tensor type this model does not cover, several subgraphs, or a
            model without its bytes.
    """
    if not model.data:
        raise ValueError(f"{model.path.name}: the model's bytes are missing; read it with "
                         "tinynas.tflite_file.read_tflite")
    g = _FileGraph(model.data)
    ops = [_file_op(g, i) for i in range(g.sub.OperatorsLength())]
    return _arena(ops, _file_tensors(g), g.sub.TensorsLength(),
                  (g.scales(g.sub.Inputs(0)), g.scales(g.sub.Outputs(0))))


def _file_tensors(g: _FileGraph) -> list[Buffer]:
    """The planned tensors in tensor order with their lifetimes (MarkAllocationLifetimes)."""
    n_ops = g.sub.OperatorsLength()
    first = {t: 0 for t in _ids(g.sub.InputsAsNumpy, g.sub.InputsLength())}
    last = dict(first)
    for scope in range(1, n_ops + 1):
        op = g.sub.Operators(scope - 1)
        outputs = _ids(op.OutputsAsNumpy, op.OutputsLength())
        for t in outputs:
            first.setdefault(t, scope)
        for t in _ids(op.InputsAsNumpy, op.InputsLength()) + outputs:
            last[t] = scope
    for t in _ids(g.sub.OutputsAsNumpy, g.sub.OutputsLength()):
        first.setdefault(t, n_ops)
        last[t] = n_ops
    return [Buffer(align_up(g.nbytes(t)), first[t], last[t])
            for t in range(g.sub.TensorsLength()) if t in first and g.planned(t)]
