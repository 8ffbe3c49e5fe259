"""`inspect` and `check` on every kind of model TFLite Micro runs: float, int16x8 and int8, with
LSTM, transposed convolution and batch matmul ops. Each model is made by TensorFlow's converter;
its MACs are counted by hand here, and its arena is read from the TFLite Micro interpreter in a
process of the test's own."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import model_builders as build
import pytest
from helpers import run_cli

from tinynas.devices import get_device
from tinynas.inspection import inspect_model
from tinynas.testing.cli import assert_one_line_error
from tinynas.tflite_file import read_tflite

pytestmark = pytest.mark.slow  # TensorFlow converts every model

BOARD = "stm32"

# the conv net of model_builders: Conv2D(4, 3x3, valid) on 16x16x1 -> 14x14x4; max pool 2x2 ->
# 7x7x4; Dense(10) on 196 features; softmax over 10
CONV_NET_MACS = 14 * 14 * 4 * (3 * 3 * 1) + 196 * 10
CONV_NET_ELEMENT_OPS = 7 * 7 * 4 * (2 * 2) + 10
# the LSTM net: 8 steps of LSTM(12) on 6 features (4 gates: input 12x6 and recurrent 12x12
# weights each), then Dense(4) on the last 12 outputs
LSTM_MACS = 8 * 4 * (12 * 6 + 12 * 12) + 12 * 4
LSTM_ELEMENT_OPS = 8 * 12 * (2 * 4 + 3 + 2)  # gate bias + activation, cell update, hidden update

TFLM_ARENA = """
import re, sys
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(),
                                             arena_size=1 << 22)
interpreter.print_allocations()
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kinds")
    made = {
        "float_conv": build.float_conv_model(),
        "int16x8_conv": build.int16x8_conv_model(),
        "float_lstm": build.float_lstm_model(),
        "int8_lstm": build.int8_lstm_model(),
        "transpose_valid": build.transpose_conv_model("valid"),
        "transpose_same": build.transpose_conv_model("same"),
        "batch_matmul": build.batch_matmul_model(),
        "top_k": build.top_k_model(),
    }
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(data)
    return paths


def tflm_arena_bytes(path: Path) -> int:
    """The arena total TFLite Micro's RecordingMicroAllocator prints, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", TFLM_ARENA, str(path)], capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    found = re.search(r"Arena allocation total (\d+) bytes", done.stdout + done.stderr)
    assert found is not None, done.stdout + done.stderr
    return int(found.group(1))


def inspect_json(path: Path, *extra: str) -> dict[str, Any]:
    result = run_cli("inspect", path, "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def transposed_pairs(in_size: int, kernel: int, stride: int, out_size: int, same: bool) -> int:
    """(input, filter) index pairs that land in the output, with TensorFlow's padding of the
    forward convolution whose gradient a transposed convolution is: SAME pads
    max((in - 1) * stride + kernel - out, 0) in all, the smaller half before."""
    pad = max((in_size - 1) * stride + kernel - out_size, 0) // 2 if same else 0
    return sum(1 for i in range(in_size) for k in range(kernel)
               if 0 <= i * stride + k - pad < out_size)  # fmt: skip


@pytest.mark.parametrize(("name", "kind", "dtype", "activations", "weights"), [
    ("float_conv", "float", "float32", ["float32"], ["float32"]),
    ("int16x8_conv", "int16x8", "int16", ["int16"], ["int64", "int8"]),
])  # fmt: skip
def test_float_and_int16x8_models_are_inspected_with_their_types_and_tflm_arena(
    models: dict[str, Path], name: str, kind: str, dtype: str, activations: list[str],
    weights: list[str],
) -> None:  # fmt: skip
    report = inspect_json(models[name], "--device", BOARD)
    assert report["types"] == {"kind": kind, "input": dtype, "output": dtype,
                               "activations": activations, "weights": weights}
    assert report["macs"] == CONV_NET_MACS
    assert report["element_ops"] == CONV_NET_ELEMENT_OPS
    assert report["arena_bytes"] == tflm_arena_bytes(models[name])
    assert report["latency_partial"] is False and report["uncounted_ops"] == []


@pytest.mark.parametrize("name", ["float_lstm", "int8_lstm"])
def test_an_lstm_is_counted_by_hand_and_its_latency_is_marked_partial(
    models: dict[str, Path], name: str
) -> None:
    report = inspect_json(models[name], "--device", BOARD)
    assert report["op_counts"] == {"UNIDIRECTIONAL_SEQUENCE_LSTM": 1, "STRIDED_SLICE": 1,
                                   "FULLY_CONNECTED": 1}
    assert report["macs"] == LSTM_MACS
    assert report["element_ops"] == LSTM_ELEMENT_OPS
    assert report["arena_bytes"] == tflm_arena_bytes(models[name])
    # the board's latency model was fitted on convolutions and dense layers only
    assert report["latency_partial"] is True
    assert report["latency_uncovered"] == {"UNIDIRECTIONAL_SEQUENCE_LSTM": 1}
    assert "partial" in report["provenance"]["latency_ms"]
    expected_kind = "float" if name == "float_lstm" else "int8"
    assert report["types"]["kind"] == expected_kind


def test_inspect_strict_refuses_a_partial_prediction_in_one_line(
    models: dict[str, Path]
) -> None:
    result = run_cli("inspect", models["int8_lstm"], "--device", BOARD, "--strict")
    line = assert_one_line_error(result, empty_stdout=True)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM (no cost in its latency model)" in line
    assert "--strict refuses" in line
    complete = run_cli("inspect", models["float_conv"], "--device", BOARD, "--strict")
    assert complete.returncode == 0, complete.stderr


def test_the_gate_fails_closed_on_a_partial_latency_unless_told_otherwise(
    models: dict[str, Path], tmp_path: Path
) -> None:
    model = models["int8_lstm"]
    junit = tmp_path / "gate.xml"
    result = run_cli("check", model, "--device", BOARD, "--max-latency", "1000", "--json",
                     "--junit", junit)  # fmt: skip
    assert result.returncode == 1, result.stderr
    row = next(r for r in json.loads(result.stdout)["checks"][0]["rows"]
               if r["resource"] == "latency")  # fmt: skip
    assert row["partial"] is True and row["ok"] is False
    assert row["uncovered"] == "UNIDIRECTIONAL_SEQUENCE_LSTM" and row["value"] < 1000
    assert "a partial prediction cannot show the limit holds" in junit.read_text("utf-8")
    allowed = run_cli("check", model, "--device", BOARD, "--max-latency", "1000",
                      "--allow-partial-latency")  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert ">= " in allowed.stdout and "partial (no cost for" in allowed.stdout  # the verdict
    unchecked = run_cli("check", model, "--device", BOARD)  # no latency limit: nothing fails
    assert unchecked.returncode == 0, unchecked.stderr


@pytest.mark.parametrize(("padding", "out_size"), [("valid", 11), ("same", 10)])
def test_a_transposed_convolution_counts_the_products_that_land_in_the_output(
    models: dict[str, Path], padding: str, out_size: int
) -> None:
    model = read_tflite(models[f"transpose_{padding}"])
    conv = next(op for op in model.ops if op.op == "TRANSPOSE_CONV")
    assert conv.output_shape == (1, out_size, out_size, 4)
    pairs = transposed_pairs(5, 3, 2, out_size, padding == "same")
    assert pairs == (5 * 3 if padding == "valid" else 14)  # SAME crops one row per side
    assert conv.macs == pairs * pairs * 3 * 4  # in_c 3, out_c 4
    dense = next(op for op in model.ops if op.op == "FULLY_CONNECTED")
    assert dense.macs == out_size * out_size * 4 * 2
    assert inspect_model(models[f"transpose_{padding}"]).arena.total_bytes == tflm_arena_bytes(
        models[f"transpose_{padding}"])


def test_a_batch_matmul_counts_its_inner_products(models: dict[str, Path]) -> None:
    model = read_tflite(models["batch_matmul"], require_int8=False)
    (op,) = model.ops
    assert op.op == "BATCH_MATMUL" and op.output_shape == (1, 4, 4)
    assert op.macs == math.prod(op.output_shape) * 6  # x (1x4x6) times its transpose
    assert model.kind == "float"


def test_check_gates_float_int16x8_and_int8_models_and_reports_their_types(
    models: dict[str, Path]
) -> None:
    paths = [models["float_conv"], models["int16x8_conv"], models["int8_lstm"]]
    result = run_cli("check", *paths, "--device", BOARD, "--json")
    assert result.returncode == 0, result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert [c["types"]["kind"] for c in checks] == ["float", "int16x8", "int8"]
    board = get_device(BOARD)
    for check, path in zip(checks, paths, strict=True):
        ram = next(r for r in check["rows"] if r["resource"] == "ram")
        assert ram["parts"]["TFLM arena"] == tflm_arena_bytes(path)
        assert ram["value"] == tflm_arena_bytes(path) + board.runtime_reserve_bytes
        # a CMSIS-NN board, but no Cortex-M estimate: the x86 figure, and why
        assert ram["basis"].startswith("x86 TFLM arena (measured): no Cortex-M arena model for")
        assert check["arena_cortex_m_bytes"] is None
    assert [c["arena_cortex_m_unavailable"] for c in checks[:2]] == [
        "no Cortex-M arena model for float models", "no Cortex-M arena model for int16x8 models"]
    text = run_cli("check", *paths, "--device", BOARD)
    assert "int16x8_conv.tflite: int16x8 (input int16, output int16" in text.stdout


@pytest.mark.parametrize("command", ["inspect", "check"])
def test_a_model_with_an_op_tflm_lacks_is_one_line(models: dict[str, Path], command: str) -> None:
    result = run_cli(command, models["top_k"], "--device", BOARD)
    line = assert_one_line_error(result, empty_stdout=True)
    assert line == ("error: TFLite Micro cannot run top_k.tflite: Didn't find op for builtin "
                    "opcode 'TOPK_V2'")  # fmt: skip
    model = read_tflite(models["top_k"], require_int8=False)
    assert [(op.op, op.work) for op in model.ops] == [("MUL", "element"), ("TOPK_V2", "unknown")]
