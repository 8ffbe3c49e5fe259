"""The arithmetic of one TFLite operator: multiply-accumulates, element operations, or neither.

Every builtin op TFLite Micro ships falls in one of four kinds (``OpWork.kind``):

``mac``
    Products of weights (or a second operand) with activations, counted as multiply-accumulates
    the way the TFLite Micro reference kernels loop (tensorflow/lite/kernels/internal/reference
    and tensorflow/lite/micro/kernels of github.com/tensorflow/tflite-micro); batch and time
    steps included::

        CONV_2D           out_elements * kh * kw * in_c           filter [out_c, kh, kw, in_c]
        DEPTHWISE_CONV_2D out_elements * kh * kw                  filter [1, kh, kw, out_c]
        FULLY_CONNECTED   rows * in_features * units              weights [units, in_features]
        TRANSPOSE_CONV    n * pairs_h * pairs_w * in_c * out_c    reference_ops::TransposeConv
        BATCH_MATMUL      out_elements * K                        K: lhs's inner dimension
        SVDF              batch * filters * (input + memory)      svdf_common.cc
        UNIDIRECTIONAL_SEQUENCE_LSTM
                          steps * (sum of input and recurrent weight elements
                                   + peephole cells + projection weight elements)
                                                                  lstm_eval.h, LstmStep

    ``pairs_h`` counts the (input row, filter row) pairs whose output row lands inside the
    output: ``0 <= i * stride - pad + k < out_h``, with TFLM's padding rule
    (``ComputePaddingHeightWidth`` on the output size); a VALID transposed convolution has
    ``in_h * kh`` pairs. The recurrent ops also have element operations: the LSTM's gate bias
    adds and activations (2 per gate and cell), cell update (3) and hidden update (2), one more
    per cell without an input gate (CIFG), 4 per cell for each layer-norm vector; the SVDF's
    rank reduction and bias and activation (``batch * (filters + 2 * units)``).

``element``
    Element-wise arithmetic, comparisons, activations, (de)quantisation: one operation per output
    element (``ADD_N``: one per input beyond the first). Pools read ``kh * kw`` inputs per output
    element; reductions, softmax, log-softmax, L2 normalisation and cumulative sums one per input
    element; a bilinear resize 4 per output element.

``data``
    Ops that move or select data and compute nothing (reshape, concatenation, transpose, pad,
    gather, slice, ...): 0 operations; their cost is the bytes they move.

``unknown``
    Custom ops, control flow (IF, WHILE, CALL_ONCE run other subgraphs, which are not read) and
    any op not named here: tinynas has no count for them and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
Options = Callable[[str], Any]  # options table class name -> its reader, or None

KINDS = ("mac", "element", "data", "unknown")

MAC_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL", "SVDF",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
})  # fmt: skip
_PER_OUTPUT = frozenset({
    "ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "FLOOR_DIV",
    "FLOOR_MOD", "POW", "PRELU", "LEAKY_RELU", "HARD_SWISH", "RELU", "RELU6", "RELU_N1_TO_1",
    "RELU_0_TO_1", "ELU", "GELU", "LOGISTIC", "TANH", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE",
    "ABS", "NEG", "SIN", "COS", "FLOOR", "CEIL", "ROUND", "SIGN", "QUANTIZE", "DEQUANTIZE", "CAST",
    "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND",
    "LOGICAL_OR", "LOGICAL_NOT", "SELECT", "SELECT_V2",
})  # fmt: skip
_PER_INPUT = frozenset({
    "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "ARG_MAX", "ARG_MIN", "CUMSUM",
    "SOFTMAX", "LOG_SOFTMAX", "L2_NORMALIZATION",
})  # fmt: skip
_POOLS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
ELEMENT_OPS = _PER_OUTPUT | _PER_INPUT | _POOLS | {"ADD_N", "RESIZE_BILINEAR"}
DATA_OPS = frozenset({
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PACK", "UNPACK", "SPLIT", "SPLIT_V",
    "SLICE", "STRIDED_SLICE", "TRANSPOSE", "GATHER", "GATHER_ND", "PAD", "PADV2", "MIRROR_PAD",
    "SHAPE", "FILL", "BROADCAST_TO", "BROADCAST_ARGS", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "RESIZE_NEAREST_NEIGHBOR", "EMBEDDING_LOOKUP",
    "READ_VARIABLE", "ASSIGN_VARIABLE", "VAR_HANDLE", "ZEROS_LIKE", "REVERSE_V2",
})  # fmt: skip
UNREAD_SUBGRAPH_OPS = frozenset({"IF", "WHILE", "CALL_ONCE"})


@dataclass(frozen=True)
class OpWork:
    """What one op computes: multiply-accumulates, element operations, and which kind it is."""

    macs: int
    element_ops: int
    kind: str  # one of KINDS


def op_work(op: str, inputs: Sequence[Shape | None], output: Shape, options: Options) -> OpWork:
    """The work of op `op` from its positional input shapes (None: an omitted optional input),
    its first output's shape, and `options` (reads the op's builtin options table)."""
    if op in MAC_OPS:
        return _mac_work(op, inputs, output, options)
    if op in ELEMENT_OPS:
        return OpWork(0, _element_ops(op, inputs, output, options), "element")
    if op in DATA_OPS:
        return OpWork(0, 0, "data")
    return OpWork(0, 0, "unknown")


def unknown_reason(op: str) -> str:
    """Why an op of kind ``unknown`` has no count, as a phrase."""
    if op in UNREAD_SUBGRAPH_OPS:
        return "control flow: it runs other subgraphs, whose ops are not read"
    if op.startswith("CUSTOM:"):
        return "a custom op: its arithmetic is its implementer's"
    return "an op tinynas has no arithmetic count for"


def _elements(shape: Shape | None) -> int:
    return math.prod(shape) if shape else 0


def _at(inputs: Sequence[Shape | None], index: int) -> Shape | None:
    return inputs[index] if index < len(inputs) else None


def _mac_work(op: str, inputs: Sequence[Shape | None], output: Shape, options: Options
              ) -> OpWork:  # fmt: skip
    if op == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        return _lstm(inputs)
    if op == "SVDF":
        return _svdf(inputs, output)
    if op == "TRANSPOSE_CONV":
        return OpWork(_transpose_conv(inputs, output, options), 0, "mac")
    first, second = _at(inputs, 0), _at(inputs, 1)
    if not first or not second or not output:
        return OpWork(0, 0, "mac")
    if op == "CONV_2D":  # filter [out_c, kh, kw, in_c]; output [n, h, w, out_c]
        return OpWork(_elements(output) * math.prod(second[1:]), 0, "mac")
    if op == "DEPTHWISE_CONV_2D" and len(second) >= 3:  # filter [1, kh, kw, out_c]
        return OpWork(_elements(output) * second[1] * second[2], 0, "mac")
    if op == "FULLY_CONNECTED":  # weights [units, in_features]
        units, in_features = second[0], math.prod(second[1:])
        rows = _elements(output) // units if units else 0
        return OpWork(rows * in_features * units, 0, "mac")
    if op == "BATCH_MATMUL" and len(first) >= 2:
        read = options("BatchMatMulOptions")
        adj_x = bool(read and read.AdjX())
        inner = first[-2] if adj_x else first[-1]  # lhs [..., M, K], or [..., K, M] with adj_x
        return OpWork(_elements(output) * inner, 0, "mac")
    return OpWork(0, 0, "mac")


# UNIDIRECTIONAL_SEQUENCE_LSTM's inputs (tensorflow/lite/kernels/lstm_shared.h)
_LSTM_INPUT_WEIGHTS = (1, 2, 3, 4)  # input_to_{input, forget, cell, output}: [cells, inputs]
_LSTM_RECURRENT_WEIGHTS = (5, 6, 7, 8)  # recurrent_to_{...}: [cells, outputs]
_LSTM_PEEPHOLES = (9, 10, 11)  # cell_to_{input, forget, output}: [cells]
_LSTM_PROJECTION = 16  # [outputs, cells]
_LSTM_LAYER_NORMS = (20, 21, 22, 23)  # [cells]


def _lstm(inputs: Sequence[Shape | None]) -> OpWork:
    x, forget = _at(inputs, 0), _at(inputs, 2)
    if not x or not forget:
        return OpWork(0, 0, "mac")
    steps = math.prod(x[:-1])  # batch * time, either layout
    cells = forget[0]
    weights = [_at(inputs, i) for i in (*_LSTM_INPUT_WEIGHTS, *_LSTM_RECURRENT_WEIGHTS)]
    per_step = sum(_elements(w) for w in weights)
    per_step += cells * sum(_at(inputs, i) is not None for i in _LSTM_PEEPHOLES)
    per_step += _elements(_at(inputs, _LSTM_PROJECTION))
    gates = sum(_at(inputs, i) is not None for i in _LSTM_INPUT_WEIGHTS)
    element_ops = cells * (2 * gates + 3 + 2)  # gates; cell update; hidden update
    element_ops += cells * (gates < 4)  # CIFG: input gate = 1 - forget gate
    element_ops += 4 * cells * sum(_at(inputs, i) is not None for i in _LSTM_LAYER_NORMS)
    return OpWork(steps * per_step, steps * element_ops, "mac")


def _svdf(inputs: Sequence[Shape | None], output: Shape) -> OpWork:
    x, feature, time = _at(inputs, 0), _at(inputs, 1), _at(inputs, 2)
    if not x or not feature or not time or not output:
        return OpWork(0, 0, "mac")
    batch, filters, units = x[0], feature[0], output[-1]
    macs = batch * filters * (feature[-1] + time[-1])  # feature and time matrix products
    return OpWork(macs, batch * (filters + 2 * units), "mac")


def _transpose_conv(inputs: Sequence[Shape | None], output: Shape, options: Options) -> int:
    filt, x = _at(inputs, 1), _at(inputs, 2)  # inputs: output shape, weights, input, bias
    if not filt or not x or len(filt) != 4 or len(x) != 4 or len(output) != 4:
        return 0
    read = options("TransposeConvOptions")
    same = bool(read and read.Padding() == 0)  # Padding.SAME == 0 in the schema
    stride_h, stride_w = (max(read.StrideH(), 1), max(read.StrideW(), 1)) if read else (1, 1)
    pairs_h = _landing_pairs(x[1], filt[1], stride_h, output[1], same)
    pairs_w = _landing_pairs(x[2], filt[2], stride_w, output[2], same)
    return x[0] * pairs_h * pairs_w * x[3] * filt[0]


def _landing_pairs(in_size: int, kernel: int, stride: int, out_size: int, same: bool) -> int:
    """(input index, filter index) pairs of a transposed convolution that land in the output.

    Padding as TFLM's transpose_conv.cc: ``ComputePaddingHeightWidth`` with the output size as
    the "input" size (tensorflow/lite/kernels/padding.h)."""
    if same:
        computed = (out_size + stride - 1) // stride
    else:
        computed = (out_size - kernel + stride) // stride
    pad = max(((computed - 1) * stride + kernel - out_size) // 2, 0)
    pairs = 0
    for k in range(min(kernel, out_size + pad)):  # per filter row: the inputs i it lands for
        first = max(-((k - pad) // stride), 0)  # ceil((pad - k) / stride)
        last = min((out_size + pad - k - 1) // stride, in_size - 1)
        pairs += max(last - first + 1, 0)
    return pairs


def _element_ops(op: str, inputs: Sequence[Shape | None], output: Shape, options: Options
                 ) -> int:  # fmt: skip
    if op in _PER_INPUT:
        return _elements(_at(inputs, 0))
    if op in _POOLS:
        read = options("Pool2DOptions")
        window = read.FilterHeight() * read.FilterWidth() if read else 1
        return _elements(output) * max(window, 1)
    if op == "ADD_N":
        return _elements(output) * max(sum(s is not None for s in inputs) - 1, 0)
    if op == "RESIZE_BILINEAR":
        return 4 * _elements(output)
    return _elements(output)
