"""Structural verification of a TFLite flatbuffer, before any reader or interpreter sees it.

The generated flatbuffer accessors do no bounds checks, and neither does TFLite Micro: a damaged
file can send either reading anywhere in memory. :func:`verify_tflite` walks the whole file:
the root offset, every vtable, table, vector and string lie inside it; subgraph, tensor, buffer
and opcode indices are in range; shapes are non-negative and constant tensors hold exactly the
bytes their shape and type need; quantisation arrays agree in length.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from tinynas.errors import ModelFileError
from tinynas.tflite_file._schema import enum_names as _enum_names
from tinynas.tflite_file._schema import schema_module as _schema_module

IDENTIFIER = b"TFL3"  # file_identifier of the TFLite schema, at bytes 4..8
DAMAGED = "the file is damaged or not a TFLite model"

# ---- structural verification --------------------------------------------------------------------
#
# The TFLite schema (tensorflow/compiler/mlir/lite/schema/schema.fbs) as far as it holds offsets,
# with the size of every scalar field: table -> {vtable offset of the field: "KIND NAME"}.
# KIND is one of
#   a struct format character ("b", "B", "i", "I", "Q", "f", "?")  a scalar of that size
#   str                                                            a string
#   [c]  with c a format character                                a vector of scalars
#   [Table]                                                       a vector of tables (NAME: one)
#   Table                                                         a table
#   Union@N                                                       a union whose type is at N
# Fields not listed (newer schema fields, the scalars of builtin options) are checked to lie
# inside their table. Builtin options tables not listed hold scalars only.

_SCHEMA: dict[str, dict[int, str]] = {
    "Model": {4: "I version", 6: "[OperatorCode] operator code", 8: "[SubGraph] subgraph",
              10: "str description", 12: "[Buffer] buffer", 14: "[i] metadata buffer",
              16: "[Metadata] metadata", 18: "[SignatureDef] signature",
              20: "[ExternalBufferGroup] external buffer group",
              22: "[ExternalBuffer] external buffer"},
    "OperatorCode": {4: "b deprecated builtin code", 6: "str custom code", 8: "i version",
                     10: "i builtin code"},
    "SubGraph": {4: "[Tensor] tensor", 6: "[i] inputs", 8: "[i] outputs",
                 10: "[Operator] operator", 12: "str name", 14: "i debug metadata index"},
    "Tensor": {4: "[i] shape", 6: "b type", 8: "I buffer", 10: "str name",
               12: "QuantizationParameters quantization", 14: "? is_variable",
               16: "SparsityParameters sparsity", 18: "[i] shape signature", 20: "? has_rank",
               22: "[VariantSubType] variant tensor", 24: "I external buffer"},
    "QuantizationParameters": {4: "[f] min", 6: "[f] max", 8: "[f] scale", 10: "[q] zero point",
                               12: "B details type", 14: "QuantizationDetails@12 details",
                               16: "i quantized dimension"},
    "CustomQuantization": {4: "[B] custom"},
    "BlockwiseQuantization": {4: "i scales", 6: "i zero points", 8: "i block size",
                              10: "[i] block shape"},
    "MultiAxisQuantization": {4: "i a", 6: "i b", 8: "i c", 10: "[i] quantized dimensions"},
    "SparsityParameters": {4: "[i] traversal order", 6: "[i] block map",
                           8: "[DimensionMetadata] dimension"},
    "DimensionMetadata": {4: "b format", 6: "i dense size", 8: "B segments type",
                          10: "SparseIndexVector@8 segments", 12: "B indices type",
                          14: "SparseIndexVector@12 indices"},
    "Int32Vector": {4: "[i] values"},
    "Uint16Vector": {4: "[H] values"},
    "Uint8Vector": {4: "[B] values"},
    "VariantSubType": {4: "[i] shape", 6: "b type", 8: "? has_rank"},
    "Operator": {4: "I opcode index", 6: "[i] inputs", 8: "[i] outputs", 10: "B options type",
                 12: "BuiltinOptions@10 options", 14: "[B] custom options",
                 16: "b custom options format", 18: "[?] mutating variable inputs",
                 20: "[i] intermediates", 22: "Q large custom options offset",
                 24: "Q large custom options size", 26: "B options2 type",
                 28: "BuiltinOptions2@26 options2", 30: "i debug metadata index"},
    "Buffer": {4: "[B] data", 6: "Q offset", 8: "Q size"},
    "Metadata": {4: "str name", 6: "I buffer"},
    "SignatureDef": {4: "[TensorMap] input", 6: "[TensorMap] output", 8: "str key",
                     12: "I subgraph index"},
    "TensorMap": {4: "str name", 6: "I tensor index"},
    "ExternalBufferGroup": {4: "str name"},
    "ExternalBuffer": {4: "I id", 6: "I group", 8: "Q offset", 10: "Q length", 12: "str packing"},
    # builtin options with offsets (members of the BuiltinOptions and BuiltinOptions2 unions)
    "ConcatEmbeddingsOptions": {6: "[i] columns", 8: "[i] dimensions"},
    "FullyConnectedOptions": {14: "[B] quant spec"},
    "ReshapeOptions": {4: "[i] new shape"},
    "SqueezeOptions": {4: "[i] squeeze dims"},
    "VarHandleOptions": {4: "str container", 6: "str shared name"},
    "BucketizeOptions": {4: "[f] boundaries"},
    "StableHLOCompositeOptions": {4: "str name", 8: "[B] attributes"},
    "StablehloGatherOptions": {4: "[q] a", 6: "[q] b", 8: "[q] c", 12: "[q] d"},
    "StablehloTransposeOptions": {4: "[q] permutation"},
    "StablehloDotGeneralOptions": {4: "[q] a", 6: "[q] b", 8: "[q] c", 10: "[q] d",
                                   12: "[I] precision"},
    "StablehloReduceWindowOptions": {4: "[q] a", 6: "[q] b", 8: "[q] c", 10: "[q] d",
                                     12: "[q] e"},
    "StablehloBroadcastInDimOptions": {4: "[q] dimensions"},
    "StablehloDynamicSliceOptions": {4: "[q] sizes"},
    "StablehloPadOptions": {4: "[q] low", 6: "[q] high", 8: "[q] interior"},
    "StablehloCustomCallOptions": {4: "str target", 8: "str config", 12: "[i] computations",
                                   14: "[B] attributes"},
    "StablehloReduceOptions": {4: "[q] dimensions"},
    "StablehloSliceOptions": {4: "[q] start", 6: "[q] limit", 8: "[q] strides"},
    "StablehloConvolutionOptions": {4: "[q] a", 6: "[q] b", 8: "[q] c", 10: "[q] d",
                                    12: "[?] e", 18: "[q] f", 24: "[q] g", 30: "[q] h",
                                    36: "[I] precision"},
    "StablehloScatterOptions": {6: "[q] a", 8: "[q] b", 10: "[q] c"},
    "StablehloCaseOptions": {4: "[i] branches"},
}  # fmt: skip

# bytes per element of each TensorType code; None: variable (strings, resources, variants)
_TYPE_BITS: dict[int, int | None] = {
    0: 32, 1: 16, 2: 32, 3: 8, 4: 64, 5: None, 6: 8, 7: 16, 8: 64, 9: 8, 10: 64, 11: 128,
    12: 64, 13: None, 14: None, 15: 32, 16: 16, 17: 4, 18: 16, 19: 2, 20: 4, 21: 8, 22: 8,
}  # fmt: skip
_MAX_TENSOR_BYTES = (1 << 31) - 1  # TFLite Micro counts bytes in 32-bit integers
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_Vector = tuple[int, int, str]  # (first element's position, count, format character)


_ROOT = "the model table"


class _Damaged(Exception):
    """What is wrong with the flatbuffer, as a phrase."""


def verify_tflite(data: bytes, name: str = "the model") -> None:
    """Check that ``data`` is a structurally sound TFLite flatbuffer, before any reader sees it.

    Every offset the TFLite schema defines is followed: the root table, each vtable, table,
    vector and string must lie inside the file; union types must name their tables. Then the
    graph's indices are checked: subgraph inputs, outputs and operator tensors index existing
    tensors (-1 marks an omitted optional input), opcode and buffer indices are in range,
    shapes are non-negative and fit 2 GiB, constant buffers hold exactly the bytes of their
    tensor's shape and type, quantisation scales and zero points agree.

    Raises:
        ModelFileError: One line naming ``name``, what is wrong, and that the file is damaged.
    """
    try:
        if len(data) < 8 or data[4:8] != IDENTIFIER:
            raise _Damaged("it has no 'TFL3' identifier at bytes 4..8")
        walker = _Walker(data)
        model = walker.table(_U32.unpack_from(data, 0)[0], "Model", _ROOT)
        _check_graph(walker, model)
    except _Damaged as e:
        raise ModelFileError(f"{name}: {e}; {DAMAGED}") from None


class _Walker:
    """Follows offsets through the flatbuffer, checking each against the file's bounds."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self._unions: dict[str, dict[int, str]] = {}
        self._seen: dict[tuple[int, str], dict[int, Any]] = {}  # a table shared by many: once

    def _need(self, pos: int, count: int, what: str) -> None:
        if pos < 0:
            raise _Damaged(f"{what} would start {-pos:,} bytes before the start of the file")
        if pos + count > self.size:
            raise _Damaged(f"{what} (bytes {pos:,}..{pos + count:,}) runs past the end of the "
                           f"file ({self.size:,} bytes), as in a truncated file")  # fmt: skip

    def _target(self, pos: int, what: str) -> int:
        """The position an unsigned offset stored at ``pos`` points to."""
        self._need(pos, 4, f"the offset to {what}")
        return pos + int(_U32.unpack_from(self.data, pos)[0])

    def table(self, pos: int, kind: str, what: str) -> dict[int, Any]:
        """Check the table at ``pos`` and everything it points to; its fields by vtable offset.

        Scalars are decoded, vectors of scalars are (start, count, format), tables are dicts,
        vectors of tables lists of dicts; strings and absent fields are left out.
        """
        if (pos, kind) in self._seen:
            return self._seen[pos, kind]
        self._need(pos, 4, what)
        vtable = pos - int(_I32.unpack_from(self.data, pos)[0])
        self._need(vtable, 4, f"the vtable of {what}")
        vsize, osize = _U16.unpack_from(self.data, vtable)[0], _U16.unpack_from(self.data,
                                                                                vtable + 2)[0]
        if vsize < 4 or vsize % 2:
            raise _Damaged(f"the vtable of {what} has an impossible size ({vsize} bytes)")
        self._need(vtable, vsize, f"the vtable of {what}")
        if osize < 4:
            raise _Damaged(f"{what} has an impossible size ({osize} bytes)")
        self._need(pos, osize, what)
        spec = _SCHEMA.get(kind, {})
        fields: dict[int, Any] = {}
        unions: list[tuple[int, str, int]] = []  # (field, union name, vtable offset of its type)
        for voff in range(4, vsize, 2):
            offset = _U16.unpack_from(self.data, vtable + voff)[0]
            if offset == 0:
                continue
            kind_of, _, name = spec.get(voff, "").partition(" ")
            width = struct.calcsize(kind_of) if len(kind_of) == 1 else 4 if kind_of else 1
            if offset < 4 or offset + width > osize:
                raise _Damaged(f"a field of {what} lies outside its table")
            if "@" in kind_of:
                union, _, type_field = kind_of.partition("@")
                unions.append((pos + offset, union, int(type_field)))
            elif kind_of:
                fields[voff] = self._field(pos + offset, kind_of, what, name)
        for at, union, type_voff in unions:
            code = fields.get(type_voff, 0)
            if code:  # NONE: nothing to read
                member = self._members(union).get(code)
                if member is None:
                    raise _Damaged(f"{what} names {union} type {code}, which does not exist")
                self.table(self._target(at, what), member, f"{what}, its {member}")
        self._seen[pos, kind] = fields
        return fields

    def _members(self, union: str) -> dict[int, str]:
        """Type code -> table name of a union of the schema."""
        if union not in self._unions:
            self._unions[union] = _enum_names(getattr(_schema_module(), union))
        return self._unions[union]

    def _field(self, pos: int, kind: str, owner: str, name: str) -> Any:
        if len(kind) == 1:
            return struct.unpack_from("<" + kind, self.data, pos)[0]
        prefix = "" if owner == _ROOT else f"{owner}, "
        what = f"{prefix}{name}"
        target = self._target(pos, what)
        if kind == "str":
            start, count = self._vector(target, 1, what)
            self._need(start, count + 1, what)
            if self.data[start + count] != 0:
                raise _Damaged(f"{what} is a string without its terminating zero byte")
            return None
        if kind.startswith("["):
            element = kind[1:-1]
            if len(element) == 1:
                start, count = self._vector(target, struct.calcsize(element), what)
                return (start, count, element)
            start, count = self._vector(target, 4, f"{prefix}{name} list")
            return [self.table(self._target(start + 4 * i, f"{prefix}{name} {i}"), element,
                               f"{prefix}{name} {i}") for i in range(count)]  # fmt: skip
        return self.table(target, kind, what)

    def _vector(self, pos: int, width: int, what: str) -> tuple[int, int]:
        self._need(pos, 4, what)
        count = int(_U32.unpack_from(self.data, pos)[0])
        self._need(pos + 4, count * width, f"{what} ({count:,} elements)")
        return pos + 4, count


def _values(data: bytes, vector: _Vector | None) -> tuple[Any, ...]:
    if vector is None:
        return ()
    start, count, fmt = vector
    return struct.unpack_from(f"<{count}{fmt}", data, start)


def _check_graph(walker: _Walker, model: dict[int, Any]) -> None:
    """The indices and sizes inside a flatbuffer whose offsets are known to be sound."""
    subgraphs, buffers = model.get(8, []), model.get(12, [])
    if not subgraphs:
        raise _Damaged("the model has no subgraph")
    codes = len(model.get(6, []))
    data_bytes = [_buffer_bytes(walker, b, i) for i, b in enumerate(buffers)]
    for s, sub in enumerate(subgraphs):
        where = f"subgraph {s}"
        tensors = sub.get(4, [])
        for t, tensor in enumerate(tensors):
            _check_tensor(walker.data, tensor, f"{where}, tensor {t}", data_bytes)
        count = len(tensors)
        for side, voff in (("inputs", 6), ("outputs", 8)):
            _check_indices(_values(walker.data, sub.get(voff)), count, f"{where} {side}", False)
        for o, op in enumerate(sub.get(10, [])):
            what = f"{where}, operator {o}"
            index = op.get(4, 0)
            if index >= codes:
                raise _Damaged(f"{what} uses operator code {index}, but the model has {codes}")
            for side, voff in (("inputs", 6), ("outputs", 8), ("intermediates", 20)):
                _check_indices(_values(walker.data, op.get(voff)), count, f"{what} {side}",
                               side == "inputs")  # fmt: skip


def _buffer_bytes(walker: _Walker, buffer: dict[int, Any], index: int) -> int | None:
    """Bytes of constant data the buffer holds; None for an empty buffer."""
    offset, size = buffer.get(6, 0), buffer.get(8, 0)
    if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
        if offset + size > walker.size:
            raise _Damaged(f"buffer {index}'s data (bytes {offset:,}..{offset + size:,}) lies "
                           f"outside the file ({walker.size:,} bytes)")  # fmt: skip
        return size or None
    data = buffer.get(4)
    return data[1] if data is not None and data[1] else None


def _check_tensor(data: bytes, tensor: dict[int, Any], what: str,
                  buffers: list[int | None]) -> None:  # fmt: skip
    shape = _values(data, tensor.get(4))
    if any(d < 0 for d in shape):
        raise _Damaged(f"{what} has a negative dimension in its shape {_shape_text(shape)}")
    code = tensor.get(6, 0)
    if code not in _TYPE_BITS:
        raise _Damaged(f"{what} has an unknown type code {code}")
    bits = _TYPE_BITS[code]
    elements = math.prod(shape)
    needed = None if bits is None else (elements * bits + 7) // 8
    text = _shape_text(shape)
    if needed is not None and needed > _MAX_TENSOR_BYTES:
        raise _Damaged(f"{what} has the shape {text}: {needed:,} bytes, more than 2 GiB")
    index = tensor.get(8, 0)
    if index >= len(buffers) and index:
        raise _Damaged(f"{what} uses buffer {index}, but the model has {len(buffers)}")
    held = buffers[index] if index else None
    if held is not None and needed is not None and 16 not in tensor:  # 16: sparse
        unpacked = elements if bits is not None and bits < 8 else needed
        if held not in (needed, unpacked):
            raise _Damaged(f"{what} has the shape {text} of {needed:,} bytes, but its buffer "
                           f"{index} holds {held:,}")  # fmt: skip
    quantization = tensor.get(12)
    if quantization:
        _check_quantization(data, quantization, shape, what)


def _check_quantization(data: bytes, q: dict[int, Any], shape: tuple[int, ...], what: str) -> None:
    scales, zero_points = q.get(8), q.get(10)
    n_scales = scales[1] if scales else 0
    n_zero_points = zero_points[1] if zero_points else 0
    if n_scales and n_zero_points and n_zero_points not in (1, n_scales):
        raise _Damaged(f"{what} has {n_scales} quantisation scales but {n_zero_points} zero "
                       "points")  # fmt: skip
    if n_scales > 1:
        axis = q.get(16, 0)
        if not 0 <= axis < len(shape):
            raise _Damaged(f"{what} is quantised along dimension {axis} of its shape "
                           f"{_shape_text(shape)}, which does not exist")  # fmt: skip
        if shape[axis] != n_scales:
            raise _Damaged(f"{what} has {n_scales} quantisation scales for the {shape[axis]} "
                           f"channels of dimension {axis} of its shape "
                           f"{_shape_text(shape)}")  # fmt: skip
    if any(not math.isfinite(v) for v in _values(data, scales)):
        raise _Damaged(f"{what} has a quantisation scale that is not a finite number")


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) <= 8:
        return str(list(shape))
    return f"[{', '.join(map(str, shape[:6]))}, ...] ({len(shape)} dimensions)"


def _check_indices(indices: tuple[int, ...], count: int, what: str, optional: bool) -> None:
    low = -1 if optional else 0
    for index in indices:
        if not low <= index < count:
            raise _Damaged(f"{what} refer to tensor {index}, but the subgraph has {count} tensors")
