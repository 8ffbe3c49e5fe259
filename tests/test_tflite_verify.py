"""The structural check of a ``.tflite`` before any native code reads it (``verify_tflite``).

Each test damages one thing of a real, valid model (built by the TFLite schema's own code, see
``tinynas.testing.tflite_models``, or an MLPerf Tiny model) and expects one line naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from helpers import needs_mlperf_tiny

from tinynas.errors import ModelFileError
from tinynas.testing.tflite_models import max_pool_model, max_pool_model_t, pack
from tinynas.tflite_file import DAMAGED, MAX_MODEL_BYTES, read_tflite, verify_tflite


def _refused(data: bytes, *fragments: str) -> str:
    with pytest.raises(ModelFileError) as caught:
        verify_tflite(data, "m.tflite")
    text = str(caught.value)
    assert "\n" not in text and text.startswith("m.tflite: ") and text.endswith(DAMAGED), text
    for fragment in fragments:
        assert fragment in text, text
    return text


def test_a_valid_model_passes() -> None:
    verify_tflite(max_pool_model(4, 4, 2))


@needs_mlperf_tiny
def test_the_mlperf_tiny_models_pass(mlperf_tiny: Path) -> None:
    for path in sorted(mlperf_tiny.glob("*.tflite")):
        verify_tflite(path.read_bytes(), path.name)


def _altered(change: Any) -> bytes:
    model = max_pool_model_t(4, 4, 2)
    change(model)
    return pack(model)


def test_an_operator_input_outside_the_tensors() -> None:
    data = _altered(lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [7]))
    _refused(data, "operator 0 inputs refer to tensor 7", "2 tensors")


def test_an_omitted_optional_input_is_allowed() -> None:
    verify_tflite(_altered(lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [0, -1])))


def test_an_output_of_minus_one_is_not() -> None:
    _refused(_altered(lambda m: setattr(m.subgraphs[0], "outputs", [-1])), "outputs")


def test_an_opcode_index_out_of_range() -> None:
    data = _altered(lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 3))
    _refused(data, "operator code 3", "the model has 1")


def test_a_buffer_index_out_of_range() -> None:
    data = _altered(lambda m: setattr(m.subgraphs[0].tensors[1], "buffer", 9))
    _refused(data, "tensor 1 uses buffer 9", "has 3")


def test_a_negative_dimension() -> None:
    data = _altered(lambda m: setattr(m.subgraphs[0].tensors[0], "shape", [1, -4, 4, 2]))
    _refused(data, "tensor 0 has a negative dimension", "[1, -4, 4, 2]")


def test_a_shape_of_more_than_2_gib() -> None:
    data = _altered(lambda m: setattr(m.subgraphs[0].tensors[0], "shape", [1, 65536, 65536, 1]))
    _refused(data, "more than 2 GiB")


def test_a_constant_buffer_that_disagrees_with_its_shape() -> None:
    def change(m: Any) -> None:
        m.buffers[1].data = [0] * 31  # the input is 1x4x4x2 int8: 32 bytes

    _refused(_altered(change), "tensor 0 has the shape [1, 4, 4, 2] of 32 bytes",
             "buffer 1 holds 31")  # fmt: skip


def test_a_constant_buffer_that_agrees_passes() -> None:
    verify_tflite(_altered(lambda m: setattr(m.buffers[1], "data", [0] * 32)))


def test_zero_points_that_disagree_with_the_scales() -> None:
    def change(m: Any) -> None:
        m.subgraphs[0].tensors[1].quantization.scale = [0.1, 0.2]
        m.subgraphs[0].tensors[1].quantization.zeroPoint = [0, 0, 0]

    _refused(_altered(change), "2 quantisation scales but 3 zero points")


def test_per_channel_scales_along_a_missing_dimension() -> None:
    def change(m: Any) -> None:
        m.subgraphs[0].tensors[1].quantization.scale = [0.1, 0.2]
        m.subgraphs[0].tensors[1].quantization.quantizedDimension = 7

    _refused(_altered(change), "quantised along dimension 7")


def test_an_unknown_tensor_type() -> None:
    _refused(_altered(lambda m: setattr(m.subgraphs[0].tensors[0], "type", 99)),
             "unknown type code 99")  # fmt: skip


def test_no_subgraph() -> None:
    _refused(_altered(lambda m: setattr(m, "subgraphs", [])), "no subgraph")


def test_an_options_type_that_does_not_exist() -> None:
    data = bytearray(max_pool_model(4, 4, 2))
    # the operator's builtin_options_type byte: find it through the valid file's vtable
    pos = _operator_field(bytes(data), 10)
    data[pos] = 250
    _refused(bytes(data), "BuiltinOptions type 250")


def _operator_field(data: bytes, voff: int) -> int:
    """The file position of field `voff` of operator 0 of subgraph 0 (a valid file)."""
    from ai_edge_litert import schema_py_generated as schema

    op = schema.Model.GetRootAs(data, 0).Subgraphs(0).Operators(0)
    return int(op._tab.Pos + op._tab.Offset(voff))


@pytest.mark.parametrize("cut", [8, 12, 40, 200, 400])
def test_every_truncation_is_refused(cut: int) -> None:
    _refused(max_pool_model(4, 4, 2)[:cut])


def test_a_root_offset_past_the_end() -> None:
    data = bytearray(max_pool_model(4, 4, 2))
    data[0:4] = (len(data) + 100).to_bytes(4, "little")
    _refused(bytes(data), "the model table", "runs past the end of the file")


def test_a_vtable_before_the_start() -> None:
    data = bytearray(max_pool_model(4, 4, 2))
    root = int.from_bytes(data[0:4], "little")
    data[root:root + 4] = (root + 1000).to_bytes(4, "little", signed=True)
    _refused(bytes(data), "before the start of the file")


# ---- what read_tflite refuses to read at all ---------------------------------------------------


def test_a_device_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a regular file") as caught:
        read_tflite("/dev/zero")
    assert "\n" not in str(caught.value)


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "model.tflite"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    with pytest.raises(ModelFileError, match="not a regular file"):
        read_tflite(fifo)


def test_a_file_over_the_cap_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.tflite"
    with big.open("wb") as f:
        f.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk is used
    with pytest.raises(ModelFileError, match="more than the 64 MiB") as caught:
        read_tflite(big)
    assert "big.tflite" in str(caught.value)


def test_a_model_object_carries_its_verified_bytes(tmp_path: Path) -> None:
    path = tmp_path / "pool.tflite"
    path.write_bytes(max_pool_model(4, 4, 2))
    assert read_tflite(path).data == path.read_bytes()
