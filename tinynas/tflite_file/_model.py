"""A small reader of ``.tflite`` files: ops, shapes, types, params and arithmetic, no TensorFlow.

The file is a flatbuffer of the TFLite schema; it is read through the generated schema module
that ``ai-edge-litert`` ships (``schema_py_generated``), which needs only ``flatbuffers``. Only
the main subgraph (index 0) is read: it is the graph TFLite Micro runs.

The generated accessors do no bounds checks, so :func:`read_tflite` and :func:`parse_tflite`
first run :func:`~tinynas.tflite_file.verify_tflite` on the bytes (``_verify.py``).

Any model TFLite Micro runs is read: int8, int16x8 (int16 activations, int8 weights), float,
or a mix (:attr:`TFLiteModel.kind`); callers that need full-integer int8 ask for it
(``require_int8``). Each op's multiply-accumulates and element operations are counted by
``_work.py``, which lists its formulas and the ops it has no count for. Params are the elements
of constant weight and bias tensors: constants that carry quantisation scales (int8 weights,
int32 biases) or are floating point. Unquantised integer constants (the shape of a RESHAPE, the
paddings of a PAD) are operands, not params.
"""

from __future__ import annotations

import math
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinynas.errors import ModelFileError
from tinynas.tflite_file._schema import enum_names as _enum_names
from tinynas.tflite_file._schema import schema_module as _schema_module
from tinynas.tflite_file._verify import IDENTIFIER, verify_tflite
from tinynas.tflite_file._work import op_work, unknown_reason

if TYPE_CHECKING:
    from ai_edge_litert import schema_py_generated as _schema

Shape = tuple[int, ...]

MAX_MODEL_BYTES = 64 << 20  # far above any microcontroller's flash; larger files are refused
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
    element_ops: int = 0  # element-wise operations, pool window and reduction reads
    work: str = "mac"  # "mac", "element", "data" or "unknown" (see _work.py)

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)

    @property
    def counted(self) -> bool:
        """Whether tinynas knows this op's arithmetic (``work`` is not "unknown")."""
        return self.work != "unknown"

    @property
    def uncounted_reason(self) -> str | None:
        """Why the op has no count, or None when it has one."""
        return None if self.counted else unknown_reason(self.op)


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
    activation_types: tuple[str, ...] = ()  # dtypes of graph inputs and op outputs, sorted
    weight_types: tuple[str, ...] = ()  # dtypes of the constant weight and bias tensors, sorted
    data: bytes = field(default=b"", repr=False, compare=False)  # the verified file content

    @property
    def macs(self) -> int:
        """Multiply-accumulates of every op that multiplies weights or operands (``_work.py``)."""
        return sum(op.macs for op in self.ops)

    @property
    def element_ops(self) -> int:
        """Element operations of every op (element-wise ops, pools, reductions, recurrences)."""
        return sum(op.element_ops for op in self.ops)

    @property
    def uncounted_ops(self) -> tuple[OpInfo, ...]:
        """The ops whose arithmetic tinynas does not know (custom ops, control flow)."""
        return tuple(op for op in self.ops if not op.counted)

    @property
    def kind(self) -> str:
        """The model's numeric kind: "int8" (int8 activations), "int16x8" (int16 activations,
        int8 weights), "float" (floating-point activations), or "mixed".

        Index and flag tensors (int32, int64, bool) do not count: an int8 model's ARG_MAX
        output is int32."""
        kinds = {_activation_kind(t) for t in self.activation_types} - {None}
        if kinds == {"int8"} or not kinds:
            return "int8"
        if kinds == {"int16"}:
            return "int16x8"
        if kinds == {"float"}:
            return "float"
        return "mixed"

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
    model = _verified_model(path, _read_bytes(path))
    if require_int8:
        _check_int8(model)
    return model


def parse_tflite(data: bytes, name: str = "the model") -> TFLiteModel:
    """The graph of a model held in memory (``path`` is ``name``); any input type.

    Raises:
        ModelFileError: The bytes are not a sound TFLite flatbuffer (:func:`verify_tflite`).
    """
    return _verified_model(Path(name), data)


def _verified_model(path: Path, data: bytes) -> TFLiteModel:
    verify_tflite(data, path.name)
    try:
        return _parse(path, data)
    except ModelFileError as e:
        raise ModelFileError(f"{path.name}: {e}") from e
    except Exception as e:  # flatbuffers raises IndexError, struct.error, ValueError, ...
        raise ModelFileError(
            f"{path.name} is truncated or corrupt ({len(data):,} bytes): its TFLite flatbuffer "
            "cannot be parsed (an offset runs past the end, or the data is garbled); re-export "
            "or re-download the model"
        ) from e


def _read_bytes(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ModelFileError(f"model file '{path}' not found") from None
    except OSError as e:
        raise ModelFileError(f"cannot read '{path}': {e.strerror or e}") from e
    if stat.S_ISDIR(info.st_mode):
        raise ModelFileError(f"'{path}' is a folder, not a .tflite model file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"'{path}' is not a regular file (a device, pipe or socket); "
                             "give a .tflite model file")  # fmt: skip
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelFileError(_too_large(path.name, info.st_size))
    try:
        with path.open("rb") as f:
            data = f.read(MAX_MODEL_BYTES + 1)  # the file may have grown since stat()
    except OSError as e:
        raise ModelFileError(f"cannot read '{path}': {e.strerror or e}") from e
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(_too_large(path.name, len(data)))
    if len(data) < 8:
        raise ModelFileError(
            f"{path.name} is empty or truncated ({len(data)} bytes); a TFLite model is a "
            "flatbuffer of at least a few hundred bytes"
        )
    if data[4:8] != IDENTIFIER:
        raise ModelFileError(
            f"{path.name} is not a TFLite model (no 'TFL3' identifier at bytes 4..8); "
            "give an int8 .tflite file"
        )
    return data


def _too_large(name: str, size: int) -> str:
    return (f"{name} is {size:,} bytes, more than the {MAX_MODEL_BYTES >> 20} MiB tinynas reads "
            "(far above any microcontroller's flash); give a .tflite model file")


def _check_int8(model: TFLiteModel) -> None:
    for side, dtype in (("input", model.input_dtype), ("output", model.output_dtype)):
        if dtype != "int8":
            kind = "float" if dtype in _FLOAT_TYPES else dtype
            raise ModelFileError(
                f"{model.path.name} is a {kind} model ({side} {dtype}); this needs a "
                "full-integer int8 model: convert with inference_input_type=int8 and "
                "inference_output_type=int8"
            )


def _activation_kind(dtype: str) -> str | None:
    if dtype in _FLOAT_TYPES:
        return "float"
    if dtype in ("int8", "uint8", "int4"):
        return "int8"
    if dtype == "int16":
        return "int16"
    return None if dtype in ("int32", "int64", "bool", "string", "resource") else dtype


# ---- the flatbuffer -----------------------------------------------------------------------------


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

    def activations(self) -> set[int]:
        """The tensors ops compute and the graph's inputs: not constants, not an op's own
        state (the variable tensors of an LSTM or SVDF) or scratch (its intermediates)."""
        found = {int(t) for t in self.sub.InputsAsNumpy()} if self.sub.InputsLength() else set()
        for i in range(self.sub.OperatorsLength()):
            op = self.sub.Operators(i)
            if op.OutputsLength():
                found.update(int(t) for t in op.OutputsAsNumpy())
        return {t for t in found if 0 <= t and not self.sub.Tensors(t).IsVariable()}

    def options(self, op: _schema.Operator, table: str) -> Any:
        """The op's builtin options as schema class `table` (e.g. "Pool2DOptions"), or None
        when the op has none of that type."""
        schema = _schema_module()
        if op.BuiltinOptionsType() != getattr(schema.BuiltinOptions, table, -1):
            return None
        raw = op.BuiltinOptions()
        if raw is None:
            return None
        reader = getattr(schema, table)()
        reader.Init(raw.Bytes, raw.Pos)
        return reader

    def op_name(self, op: _schema.Operator) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.DeprecatedBuiltinCode(), code.BuiltinCode())  # as the schema says
        name = self.op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM" and code.CustomCode():
            return f"CUSTOM:{code.CustomCode().decode(errors='replace')}"
        return name


def _op_info(graph: _Graph, index: int, seen: set[int]) -> OpInfo:
    op = graph.sub.Operators(index)
    name = graph.op_name(op)
    positional = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
    present = [t for t in positional if t >= 0]  # -1 marks an omitted optional input
    output = graph.shape(op.Outputs(0)) if op.OutputsLength() else ()
    work = op_work(name, [graph.shape(t) if t >= 0 else None for t in positional], output,
                   lambda table: graph.options(op, table))  # fmt: skip
    params = 0
    for t in present:
        if graph.is_weight(t):
            params += math.prod(graph.shape(t)) if t not in seen else 0
            seen.add(t)
    return OpInfo(index, name, tuple(graph.shape(t) for t in present), output, work.macs,
                  params, work.element_ops, work.kind)  # fmt: skip


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
        activation_types=tuple(sorted({graph.dtype(t) for t in graph.activations()})),
        weight_types=tuple(sorted({graph.dtype(t) for t in range(graph.sub.TensorsLength())
                                   if graph.is_weight(t)})),
        data=data,
    )
