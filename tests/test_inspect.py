"""``tinynas inspect`` against real int8 models nobody on this project wrote (MLPerf Tiny).

The expected figures are the published ones of ``shared/fixtures/mlperf-tiny/README.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import MLPERF_TINY_DIR as FIXTURES
from helpers import needs_mlperf_tiny as needs_fixtures
from helpers import run_cli as _cli

from tinynas.devices import get_device
from tinynas.errors import ModelFileError
from tinynas.estimators import file_op_costs
from tinynas.inspection import inspect_model
from tinynas.testing.cli import assert_one_line_error as _assert_one_line_error
from tinynas.tflite_file import read_tflite


class Published(NamedTuple):
    file: str
    size_bytes: int
    macs: int
    ops: int
    arena_bytes: int  # TFLM x86 build, RecordingMicroAllocator total
    input_shape: tuple[int, ...]


PUBLISHED = [
    Published("kws_ref_model.tflite", 53_936, 2_656_768, 13, 24_272, (1, 49, 10, 1)),
    Published("vww_96_int8.tflite", 333_288, 7_489_664, 31, 103_680, (1, 96, 96, 3)),
    Published("pretrainedResnet_quant.tflite", 98_496, 12_501_632, 16, 55_984, (1, 32, 32, 3)),
    Published("ad01_int8.tflite", 276_976, 264_192, 10, 3_984, (1, 640)),
]
_IDS = [p.file.split(".")[0] for p in PUBLISHED]


def _cli_json(*args: str | Path) -> dict[str, Any]:
    result = _cli("inspect", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)




# ---- the four published models ------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("pub", PUBLISHED, ids=_IDS)
def test_reader_matches_published_graph(pub: Published) -> None:
    model = read_tflite(FIXTURES / pub.file)
    assert model.macs == pub.macs
    assert len(model.ops) == pub.ops
    assert model.size_bytes == pub.size_bytes == (FIXTURES / pub.file).stat().st_size
    assert model.input_shape == pub.input_shape
    assert model.input_dtype == model.output_dtype == "int8"
    assert model.input_scale is not None and model.output_zero_point is not None


@needs_fixtures
@pytest.mark.parametrize("pub", PUBLISHED, ids=_IDS)
def test_measured_arena_within_one_percent_of_published(pub: Published) -> None:
    report = inspect_model(FIXTURES / pub.file)
    assert report.arena.total_bytes == pytest.approx(pub.arena_bytes, rel=0.01)
    assert report.to_dict()["provenance"]["arena_bytes"].startswith("measured")


@needs_fixtures
@pytest.mark.parametrize("pub", PUBLISHED, ids=_IDS)
@pytest.mark.cli
def test_cli_json_has_the_same_values(pub: Published) -> None:
    data = _cli_json(FIXTURES / pub.file)
    assert data["macs"] == pub.macs
    assert data["op_count"] == len(data["ops"]) == pub.ops
    assert data["size_bytes"] == pub.size_bytes
    assert data["arena_bytes"] == pytest.approx(pub.arena_bytes, rel=0.01)
    assert data["params"] == read_tflite(FIXTURES / pub.file).params
    assert sum(op["macs"] for op in data["ops"]) == pub.macs
    assert data["device"] is None and data["fit"] == {} and data["latency_ms"] is None
    assert data["provenance"]["macs"] == "computed from the graph"


@needs_fixtures
def test_op_costs_feed_the_latency_model() -> None:
    model = read_tflite(FIXTURES / "kws_ref_model.tflite")
    costs = file_op_costs(model)
    assert [c.op for c in costs] == [op.op for op in model.ops]
    assert sum(c.macs for c in costs) == model.macs
    assert costs[0].output_elements == 25 * 5 * 64  # first conv: 1x25x5x64


@needs_fixtures
def test_fit_on_nucleo_f446re_is_the_arithmetic() -> None:
    path = FIXTURES / "vww_96_int8.tflite"
    board = get_device("nucleo-f446re")
    data = _cli_json(path, "--device", "nucleo-f446re")
    flash, ram = data["fit"]["flash"], data["fit"]["ram"]
    assert flash["value"] == path.stat().st_size + board.firmware_reserve_bytes
    # the board runs TFLM with CMSIS-NN: its RAM holds the Cortex-M arena
    assert ram["value"] == data["arena_cortex_m_bytes"] + board.runtime_reserve_bytes
    for row, limit in ((flash, board.flash_bytes), (ram, board.sram_bytes)):
        assert row["limit"] == limit
        assert row["margin"] == limit - row["value"]
        assert row["ok"] == (row["value"] <= limit)
    assert data["fits"] == (flash["ok"] and ram["ok"])
    assert data["latency_ms"] > 0 and data["provenance"]["latency_ms"] == "predicted"
    assert data["latency_source"] == board.latency.source


@needs_fixtures
@pytest.mark.cli
def test_rich_output_shows_summary_ops_and_fit() -> None:
    result = _cli("inspect", FIXTURES / "kws_ref_model.tflite", "--device", "nucleo-f446re")
    assert result.returncode == 0, result.stderr
    for text in ("2,656,768", "24,272", "DEPTHWISE_CONV_2D", "1x25x5x64", "predicted", "fit on"):
        assert text in result.stdout
    lines = result.stdout.splitlines()
    x86 = next(line for line in lines if "TFLM arena, x86" in line)
    assert "24,272 B" in x86 and "measured on the host" in x86
    cortex_m = next(line for line in lines if "TFLM arena, Cortex-M" in line)
    assert "22,820 B" in cortex_m and "estimated from the file" in cortex_m
    ram = next(line for line in lines if line.strip().startswith("ram "))
    assert "estimated Cortex-M arena 22,820" in ram and "fits" in ram
    assert "RAM: Cortex-M CMSIS-NN arena (estimated)" in result.stdout


def test_reader_imports_no_tensorflow() -> None:
    code = "import sys, tinynas.tflite_file; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---- bad input: exit 2, one line, no traceback --------------------------------------------------


@pytest.mark.cli
def test_missing_file(tmp_path: Path) -> None:
    _assert_one_line_error(_cli("inspect", tmp_path / "nope.tflite"), "nope.tflite", "not found")


@needs_fixtures
@pytest.mark.cli
def test_truncated_file(tmp_path: Path) -> None:
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((FIXTURES / "vww_96_int8.tflite").read_bytes()[:100])
    _assert_one_line_error(_cli("inspect", cut), "cut.tflite", "truncated")
    with pytest.raises(ModelFileError, match="truncated"):
        read_tflite(cut)


@pytest.mark.parametrize("content", [b"", b"TFL3"], ids=["empty", "eight-bytes-short"])
@pytest.mark.cli
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(content)
    _assert_one_line_error(_cli("inspect", empty), "empty.tflite", "empty or truncated")


@pytest.mark.cli
def test_text_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not a model\n" * 10)
    _assert_one_line_error(_cli("inspect", text), "notes.txt", "not a TFLite model", "TFL3")


@pytest.mark.cli
def test_folder(tmp_path: Path) -> None:
    _assert_one_line_error(_cli("inspect", tmp_path), "folder")


@pytest.mark.slow
@pytest.mark.cli
def test_a_float_model_is_inspected_and_only_int8_readers_refuse_it(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    dense = tf.keras.layers.Dense(2, bias_initializer="ones")  # a zero bias would be dropped
    keras_model = tf.keras.Sequential([tf.keras.Input((4,)), dense])
    model = tmp_path / "float.tflite"
    model.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras_model).convert())
    result = _cli("inspect", model, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["macs"], report["params"]) == (4 * 2, 4 * 2 + 2)
    assert report["types"]["kind"] == "float" and report["input"]["dtype"] == "float32"
    assert report["arena_bytes"] >= 4 * 4 + 2 * 4  # float input and output tensors at least
    with pytest.raises(ModelFileError, match="float.tflite is a float model") as refused:
        read_tflite(model)  # what profile and calibrate read: full-integer int8 only
    assert "input float32" in str(refused.value) and "inference_input_type=int8" in str(
        refused.value)


@needs_fixtures
@pytest.mark.cli
def test_unknown_device_suggests_a_close_name() -> None:
    result = _cli("inspect", FIXTURES / "vww_96_int8.tflite", "--device", "nucleo-f446")
    _assert_one_line_error(result, "nucleo-f446", "did you mean nucleo-f446re")
