"""Small valid int8 ``.tflite`` models built in a millisecond, for tests that need an unusual one.

:func:`max_pool_model` writes a one-op model (``MAX_POOL_2D``, 1x1 window, stride 1) through the
TFLite schema's own generated builder (``ai_edge_litert.schema_py_generated``'s object API) and
the ``flatbuffers`` package, the code TFLite's converter writes files with. TFLite Micro loads and
runs it. Its arena is its input and output tensors, so the input shape sets it: a 1024x1024x3
input needs about 6 MiB, above the first measuring buffer of ``tinynas.convert.measure_arena``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def max_pool_model(height: int, width: int, channels: int) -> bytes:
    """An int8 model: input (1, height, width, channels) -> MAX_POOL_2D 1x1 -> same shape."""
    return pack(max_pool_model_t(height, width, channels))


def pack(model: Any) -> bytes:
    """The ``.tflite`` bytes of a schema object-API ``ModelT``."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def max_pool_model_t(height: int, width: int, channels: int) -> Any:
    """:func:`max_pool_model` as the schema's ``ModelT`` object, for a test to alter first."""
    from ai_edge_litert import schema_py_generated as schema

    shape = [1, height, width, channels]
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.MAX_POOL_2D
    code.deprecatedBuiltinCode = schema.BuiltinOperator.MAX_POOL_2D
    code.version = 1
    options = schema.Pool2DOptionsT()
    options.padding = schema.Padding.VALID
    options.strideW = options.strideH = options.filterWidth = options.filterHeight = 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    op.builtinOptionsType = schema.BuiltinOptions.Pool2DOptions
    op.builtinOptions = options
    subgraph = schema.SubGraphT()
    subgraph.tensors = [_tensor(schema, name, shape, buffer)
                        for name, buffer in (("input", 1), ("output", 2))]  # fmt: skip
    subgraph.inputs, subgraph.outputs, subgraph.operators = [0], [1], [op]
    subgraph.name = "main"
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [subgraph]
    model.buffers = [schema.BufferT() for _ in range(3)]  # buffer 0: the empty sentinel
    model.description = "tinynas.testing.tflite_models.max_pool_model"
    return model


def _tensor(schema: Any, name: str, shape: list[int], buffer: int) -> Any:
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.buffer = name, shape, buffer
    tensor.type = schema.TensorType.INT8
    quantization = schema.QuantizationParametersT()
    quantization.scale, quantization.zeroPoint = [0.05], [-3]
    tensor.quantization = quantization
    return tensor


def write_max_pool_model(path: str | Path, height: int, width: int, channels: int) -> Path:
    """:func:`max_pool_model` written to `path`."""
    path = Path(path)
    path.write_bytes(max_pool_model(height, width, channels))
    return path
