"""Which arena `inspect` and `check` hold a board's RAM to: the Cortex-M CMSIS-NN estimate on a
board that runs TFLM with CMSIS-NN, the x86 measurement on any other board and for a model the
estimate does not cover; both figures are reported, each labelled.

The MLPerf Tiny KWS model's arena is 24,272 B in TFLM's x86 build (measured on the host) and
22,820 B on a Cortex-M4 with CMSIS-NN (measured on the firmware, docs/benchmarks.md). A one-op
RELU model (built from the schema in a millisecond) has an op the Cortex-M estimate does not
model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import mlperf_tiny_dir

from tinynas.check import check_models, junit_xml
from tinynas.devices import get_device
from tinynas.inspection import inspect_model
from tinynas.testing.tflite_models import max_pool_model_t, pack

KWS_X86_BYTES = 24_272
KWS_CORTEX_M_BYTES = 22_820
CMSIS_NN = "nucleo-l4r5zi"
ESP_NN = "esp32-s3-devkitc"
CORTEX_M_BASIS = "Cortex-M CMSIS-NN arena (estimated)"
RELU_BASIS = "x86 TFLM arena (measured): no Cortex-M arena model for RELU"


@pytest.fixture(scope="module")
def kws() -> Path:
    return mlperf_tiny_dir() / "kws_ref_model.tflite"


@pytest.fixture(scope="module")
def relu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An int8 model of one RELU op, 1x8x8x4 in and out: TFLM runs it, the Cortex-M estimate
    does not model it."""
    from ai_edge_litert import schema_py_generated as schema

    model = max_pool_model_t(8, 8, 4)
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RELU
    op = model.subgraphs[0].operators[0]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None
    path = tmp_path_factory.mktemp("relu") / "relu.tflite"
    path.write_bytes(pack(model))
    return path


def _ram(data: dict[str, Any]) -> dict[str, Any]:
    ram: dict[str, Any] = data["fit"]["ram"]
    return ram


def test_a_cmsis_nn_board_holds_ram_to_the_cortex_m_arena(kws: Path) -> None:
    data = inspect_model(kws, CMSIS_NN).to_dict()
    assert data["arena_bytes"] == KWS_X86_BYTES
    assert data["arena_cortex_m_bytes"] == KWS_CORTEX_M_BYTES
    assert data["arena_cortex_m_unavailable"] is None
    assert data["provenance"]["arena_bytes"].startswith("measured on the host (TFLM x86")
    assert data["provenance"]["arena_cortex_m_bytes"].startswith("estimated from the file")
    assert "Cortex-M with CMSIS-NN" in data["provenance"]["arena_cortex_m_bytes"]
    reserve = get_device(CMSIS_NN).runtime_reserve_bytes
    assert _ram(data)["parts"] == {"estimated Cortex-M arena": KWS_CORTEX_M_BYTES,
                                   "runtime reserve": reserve}
    assert _ram(data)["value"] == KWS_CORTEX_M_BYTES + reserve
    assert _ram(data)["basis"] == CORTEX_M_BASIS
    assert data["fit"]["flash"]["basis"] is None


def test_an_esp_nn_board_keeps_the_x86_arena(kws: Path) -> None:
    data = inspect_model(kws, ESP_NN).to_dict()
    assert (data["arena_bytes"], data["arena_cortex_m_bytes"]) == (KWS_X86_BYTES,
                                                                   KWS_CORTEX_M_BYTES)
    assert _ram(data)["parts"]["TFLM arena"] == KWS_X86_BYTES
    assert "estimated Cortex-M arena" not in _ram(data)["parts"]
    assert _ram(data)["basis"] == (
        "x86 TFLM arena (measured): no arena model for tflm with esp-nn on xtensa-lx7")


def test_without_a_device_both_figures_are_reported(kws: Path) -> None:
    data = inspect_model(kws).to_dict()
    assert (data["arena_bytes"], data["arena_cortex_m_bytes"]) == (KWS_X86_BYTES,
                                                                   KWS_CORTEX_M_BYTES)
    assert data["fit"] == {} and data["device"] is None


@pytest.mark.cli
def test_cli_json_labels_both_figures(kws: Path, run_cli: Any) -> None:
    result = run_cli("inspect", kws, "--device", CMSIS_NN, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["arena_bytes"], data["arena_cortex_m_bytes"]) == (KWS_X86_BYTES,
                                                                   KWS_CORTEX_M_BYTES)
    assert "x86" in data["provenance"]["arena_bytes"]
    assert "Cortex-M" in data["provenance"]["arena_cortex_m_bytes"]
    assert _ram(data)["basis"] == CORTEX_M_BASIS and _ram(data)["ok"] is True


def test_an_op_the_estimate_does_not_model_falls_back_to_the_x86_arena(relu: Path) -> None:
    report = inspect_model(relu, CMSIS_NN)
    data = report.to_dict()
    assert data["arena_cortex_m_bytes"] is None
    assert data["arena_cortex_m_unavailable"] == "no Cortex-M arena model for RELU"
    assert data["arena_bytes"] == report.arena.total_bytes > 0
    assert _ram(data)["parts"]["TFLM arena"] == report.arena.total_bytes
    assert _ram(data)["basis"] == RELU_BASIS


def test_check_says_which_arena_each_board_holds(relu: Path, kws: Path) -> None:
    report = check_models([relu, kws], [get_device(CMSIS_NN), get_device(ESP_NN)])
    rams = {(c.path.name, c.device): next(r for r in c.rows if r.resource == "ram")
            for c in report.checks}  # fmt: skip
    relu_cmsis = rams["relu.tflite", CMSIS_NN]
    assert relu_cmsis.basis == RELU_BASIS and relu_cmsis.kind == "measured"
    assert "no Cortex-M arena model for RELU" in relu_cmsis.source
    kws_cmsis = rams["kws_ref_model.tflite", CMSIS_NN]
    assert kws_cmsis.kind == "estimated" and kws_cmsis.basis == CORTEX_M_BASIS
    assert dict(kws_cmsis.parts)["estimated Cortex-M arena"] == KWS_CORTEX_M_BYTES
    assert "estimated Cortex-M arena 22,820 B" in kws_cmsis.describe()
    kws_esp = rams["kws_ref_model.tflite", ESP_NN]
    assert kws_esp.kind == "measured" and dict(kws_esp.parts)["TFLM arena"] == KWS_X86_BYTES
    checks = report.to_dict()["checks"]
    relu_json = next(c for c in checks if c["model"].endswith("relu.tflite"))
    assert relu_json["arena_cortex_m_bytes"] is None
    assert relu_json["arena_cortex_m_unavailable"] == "no Cortex-M arena model for RELU"
    kws_json = next(c for c in checks if c["model"].endswith("kws_ref_model.tflite"))
    assert (kws_json["arena_bytes"], kws_json["arena_cortex_m_bytes"]) == (KWS_X86_BYTES,
                                                                           KWS_CORTEX_M_BYTES)
    xml = junit_xml(report)
    assert f'name="ram_basis" value="{RELU_BASIS}"' in xml
    assert f'name="arena_cortex_m_bytes" value="{KWS_CORTEX_M_BYTES}"' in xml


@pytest.mark.cli
def test_cli_output_names_the_fallback(relu: Path, run_cli: Any) -> None:
    inspected = run_cli("inspect", relu, "--device", CMSIS_NN)
    assert inspected.returncode == 0, inspected.stderr
    assert f"RAM: {RELU_BASIS}" in inspected.stdout
    assert "TFLM arena, Cortex-M" not in inspected.stdout  # no estimate, no line
    checked = run_cli("check", relu, "--device", CMSIS_NN, "--device", ESP_NN)
    assert checked.returncode == 0, checked.stderr
    line = next(line for line in checked.stdout.splitlines() if line.startswith("relu.tflite: "
                                                                                 "TFLM arena"))
    assert "no Cortex-M estimate (no Cortex-M arena model for RELU)" in line
    assert line.endswith(f"; RAM uses the x86 figure on {CMSIS_NN}")  # not on the ESP-NN board


def test_a_graph_the_estimate_cannot_follow_is_a_reason_not_a_crash(
    kws: Path, tmp_path: Path
) -> None:
    """Two bytes of KWS changed: the file still reads, but an op loses an input the Cortex-M
    estimate looks up (TFLM refuses this one, so inspect itself reports TFLM's complaint)."""
    from tinynas.inspection import cortex_m_estimate
    from tinynas.tflite_file import read_tflite

    data = bytearray(kws.read_bytes())
    data[26040], data[41297] = 216, 14
    path = tmp_path / "bent.tflite"
    path.write_bytes(bytes(data))
    estimate = cortex_m_estimate(read_tflite(path, require_int8=False))
    assert estimate.total_bytes is None and estimate.unavailable  # why, in words
