"""A small reader of ``.tflite`` files: ops, shapes, quantisation, params and MACs, no TensorFlow.

The file is a flatbuffer of the TFLite schema; it is read through the generated schema module
that ``ai-edge-litert`` ships (``schema_py_generated``), which needs only ``flatbuffers``. Only
the main subgraph (index 0) is read: it is the graph TFLite Micro runs.

MACs count the multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, the
convention of the MLPerf Tiny reference models and of μNAS's resource models::

    CONV_2D            out_h * out_w * out_c * kh * kw * in_c   (filter [out_c, kh, kw, in_c])
    DEPTHWISE_CONV_2D  out_h * out_w * out_c * kh * kw          (filter [1, kh, kw, out_c])
    FULLY_CONNECTED    rows * in_features * out_units           (weights [out_units, in_features])

with the batch dimension of the file's shapes (1 for a TFLM model). Params are the elements of
constant weight and bias tensors: constants that carry quantisation scales (int8 weights,
int32 biases) or are floating point. Unquantised integer constants (the shape of a RESHAPE, the
paddings of a PAD) are operands, not params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinynas.errors import ModelFileError

if TYPE_CHECKING:
    from ai_edge_litert import schema_py_generated as _schema

Shape = tuple[int, ...]

_IDENTIFIER = b"TFL3"  # file_identifier of the TFLite schema, at bytes 4..8
_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_FLOAT_TYPES = ("float16", "float32", "float64", "bfloat16")


@dataclass(frozen=True)
class OpInfo:
    """One operator of the main subgraph, in execution order."""

    index: int
    op: str  # builtin name, e.g. "CONV_2D"; custom ops as "CUSTOM:<code>"
    input_shapes: tuple[Shape, ...]  # every present input, constants included
    output_shape: Shape  # first output
    macs: int
    params: int  # elements of this op's constant weight and bias inputs

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)


@dataclass(frozen=True)
class TFLiteModel:
    """What tinynas reads from a ``.tflite`` file (main subgraph, first input and output)."""

    path: Path
    size_bytes: int
    ops: tuple[OpInfo, ...]
    input_shape: Shape
    input_dtype: str  # "int8", "float32", ...
    output_shape: Shape
    output_dtype: str
    input_scale: float | None  # None when the tensor is not quantised
    input_zero_point: int | None
    output_scale: float | None
    output_zero_point: int | None
    params: int  # elements of the distinct constant weight and bias tensors

    @property
    def macs(self) -> int:
        """Multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED."""
        return sum(op.macs for op in self.ops)

    @property
    def op_counts(self) -> dict[str, int]:
        """Op name -> how many times it occurs, in order of first occurrence."""
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.op] = counts.get(op.op, 0) + 1
        return counts


# ---- reading ------------------------------------------------------------------------------------


def read_tflite(path: str | Path, require_int8: bool = True) -> TFLiteModel:
    """Read a ``.tflite`` file.

    Args:
        path: The model file.
        require_int8: Refuse a model whose input or output is not int8.

    Raises:
        ModelFileError: A missing, empty, truncated or non-TFLite file, or (with
            ``require_int8``) a model that is not full-integer int8.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        model = _parse(path, data)
    except ModelFileError as e:
        raise ModelFileError(f"{path.name}: {e}") from e
    except Exception as e:  # flatbuffers raises IndexError, struct.error, ValueError, ...
        raise ModelFileError(
            f"{path.name} is truncated or corrupt ({len(data):,} bytes): its TFLite flatbuffer "
            "cannot be parsed (an offset runs past the end, or the data is garbled); re-export "
            "or re-download the model"
        ) from e
    if require_int8:
        _check_int8(model)
    return model


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise ModelFileError(f"model file '{path}' not found")
    if path.is_dir():
        raise ModelFileError(f"'{path}' is a folder, not a .tflite model file")
    data = path.read_bytes()
    if len(data) < 8:
        raise ModelFileError(
            f"{path.name} is empty or truncated ({len(data)} bytes); a TFLite model is a "
            "flatbuffer of at least a few hundred bytes"
        )
    if data[4:8] != _IDENTIFIER:
        raise ModelFileError(
            f"{path.name} is not a TFLite model (no 'TFL3' identifier at bytes 4..8); "
            "give an int8 .tflite file"
        )
    return data


def _check_int8(model: TFLiteModel) -> None:
    for side, dtype in (("input", model.input_dtype), ("output", model.output_dtype)):
        if dtype != "int8":
            kind = "float" if dtype in _FLOAT_TYPES else dtype
            raise ModelFileError(
                f"{model.path.name} is a {kind} model ({side} {dtype}); tinynas needs a "
                "full-integer int8 model: convert with inference_input_type=int8 and "
                "inference_output_type=int8"
            )


# ---- the flatbuffer -----------------------------------------------------------------------------


def _schema_module() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _enum_names(enum: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


class _Graph:
    """Accessors over the main subgraph of a parsed model."""

    def __init__(self, schema: Any, model: _schema.Model, data: bytes) -> None:
        if model.SubgraphsLength() < 1:
            raise ModelFileError("the model has no subgraph")
        self.model = model
        self.sub = model.Subgraphs(0)
        self.size = len(data)
        self.op_names = _enum_names(schema.BuiltinOperator)
        self.type_names = {k: v.lower() for k, v in _enum_names(schema.TensorType).items()}

    def shape(self, t: int) -> Shape:
        tensor = self.sub.Tensors(t)
        return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()

    def dtype(self, t: int) -> str:
        code = self.sub.Tensors(t).Type()
        return self.type_names.get(code, f"type {code}")

    def quantisation(self, t: int) -> tuple[float | None, int | None]:
        """The first (per-tensor) scale and zero point, or (None, None)."""
        q = self.sub.Tensors(t).Quantization()
        if q is None or q.ScaleLength() == 0:
            return None, None
        return float(q.Scale(0)), int(q.ZeroPoint(0)) if q.ZeroPointLength() else 0

    def is_constant(self, t: int) -> bool:
        index = self.sub.Tensors(t).Buffer()
        if index <= 0 or index >= self.model.BuffersLength():
            return False
        buffer = self.model.Buffers(index)
        if buffer.Offset() > 1:  # data stored after the flatbuffer (models over 2 GB)
            if buffer.Offset() + buffer.Size() > self.size:
                raise ModelFileError("a weight buffer lies beyond the end of the file")
            return True
        if buffer.DataLength() == 0:
            return False
        buffer.DataAsNumpy()  # a view; raises ValueError when the data runs past the file's end
        return True

    def is_weight(self, t: int) -> bool:
        """A constant that is a weight or bias (quantised, or floating point)."""
        if not self.is_constant(t):
            return False
        return self.quantisation(t)[0] is not None or self.dtype(t) in _FLOAT_TYPES

    def op_name(self, op: _schema.Operator) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.DeprecatedBuiltinCode(), code.BuiltinCode())  # as the schema says
        name = self.op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM" and code.CustomCode():
            return f"CUSTOM:{code.CustomCode().decode(errors='replace')}"
        return name


def _macs(op: str, inputs: tuple[Shape, ...], output: Shape) -> int:
    """MACs of one op from its input shapes (activation, filter, ...) and output shape."""
    if op not in _MAC_OPS or len(inputs) < 2 or not output:
        return 0
    filt = inputs[1]
    if op == "CONV_2D":  # filter [out_c, kh, kw, in_c]; output [n, h, w, out_c]
        return math.prod(output) * math.prod(filt[1:])
    if op == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_c]
        return math.prod(output) * filt[1] * filt[2]
    out_units, in_features = filt[0], math.prod(filt[1:])  # weights [out_units, in_features]
    rows = math.prod(output) // out_units if out_units else 0
    return rows * in_features * out_units


def _op_info(graph: _Graph, index: int, seen: set[int]) -> OpInfo:
    op = graph.sub.Operators(index)
    name = graph.op_name(op)
    present = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
    present = [t for t in present if t >= 0]  # -1 marks an omitted optional input
    inputs = tuple(graph.shape(t) for t in present)
    output = graph.shape(op.Outputs(0)) if op.OutputsLength() else ()
    params = 0
    for t in present:
        if graph.is_weight(t):
            params += math.prod(graph.shape(t)) if t not in seen else 0
            seen.add(t)
    return OpInfo(index, name, inputs, output, _macs(name, inputs, output), params)


def _io_tensor(graph: _Graph, side: str) -> int:
    count = graph.sub.InputsLength() if side == "input" else graph.sub.OutputsLength()
    if count < 1:
        raise ModelFileError(f"the model's main subgraph has no {side} tensor")
    return graph.sub.Inputs(0) if side == "input" else graph.sub.Outputs(0)


def _parse(path: Path, data: bytes) -> TFLiteModel:
    schema = _schema_module()
    graph = _Graph(schema, schema.Model.GetRootAs(data, 0), data)
    seen: set[int] = set()
    ops = tuple(_op_info(graph, i, seen) for i in range(graph.sub.OperatorsLength()))
    t_in, t_out = _io_tensor(graph, "input"), _io_tensor(graph, "output")
    return TFLiteModel(
        path=path,
        size_bytes=len(data),
        ops=ops,
        input_shape=graph.shape(t_in),
        input_dtype=graph.dtype(t_in),
        output_shape=graph.shape(t_out),
        output_dtype=graph.dtype(t_out),
        input_scale=graph.quantisation(t_in)[0],
        input_zero_point=graph.quantisation(t_in)[1],
        output_scale=graph.quantisation(t_out)[0],
        output_zero_point=graph.quantisation(t_out)[1],
        params=sum(op.params for op in ops),
    )
