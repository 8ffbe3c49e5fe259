"""``tinynas check`` on the MLPerf Tiny reference models against two real catalogue boards.

The expected figures are the published ones of ``shared/fixtures/mlperf-tiny/README.md`` (file
size and TFLM arena of the x86 build) and the arena a Cortex-M4 firmware with CMSIS-NN reported
(docs/benchmarks.md), plus the reserves of ``devices/*.toml``. Both boards run TFLM with
CMSIS-NN, so their RAM is held to the Cortex-M arena. Of the eight (model, board) pairs exactly
one is over budget: the visual wake words model needs 100,708 B of arena on a Cortex-M (103,680
B on x86), and with the 32 KiB runtime reserve that is 2,404 B more than the NUCLEO-F446RE's
128 KiB of SRAM.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import DEVICES_DIR

from tinynas.check import CheckReport, Limits, check_models, junit_xml
from tinynas.devices import get_device
from tinynas.estimators import file_op_costs, predict_latency
from tinynas.tflite_file import read_tflite


class Published(NamedTuple):
    file: str
    size_bytes: int
    arena_bytes: int  # TFLM x86 build, RecordingMicroAllocator total
    cortex_m_bytes: int  # arena_used_bytes() of the Cortex-M4 firmware with CMSIS-NN


PUBLISHED = [
    Published("kws_ref_model.tflite", 53_936, 24_272, 22_820),
    Published("vww_96_int8.tflite", 333_288, 103_680, 100_708),
    Published("pretrainedResnet_quant.tflite", 98_496, 55_984, 54_996),
    Published("ad01_int8.tflite", 276_976, 3_984, 2_580),
]
BOARDS = ("nucleo-f446re", "nucleo-l4r5zi")
# The F446RE keeps 256 KiB of its 512 KiB flash for the profiler firmware and 32 KiB of its
# 128 KiB SRAM for the runtime: VWW is over both (333,288 + 262,144 B of flash, 100,708 + 32,768
# B of RAM), AD over flash (276,976 + 262,144 B). Everything fits the L4R5ZI.
OVER_BUDGET = {
    ("vww_96_int8.tflite", "nucleo-f446re"): ["flash", "ram"],
    ("ad01_int8.tflite", "nucleo-f446re"): ["flash"],
}


@pytest.fixture(scope="module")
def report(fixtures_dir: Path) -> CheckReport:
    paths = [fixtures_dir / p.file for p in PUBLISHED]
    return check_models(paths, [get_device(b) for b in BOARDS])


def test_one_check_per_model_and_board(report: CheckReport) -> None:
    pairs = [(c.path.name, c.device) for c in report.checks]
    assert pairs == [(p.file, b) for p in PUBLISHED for b in BOARDS]
    assert all([r.resource for r in c.rows] == ["flash", "ram", "latency"] for c in report.checks)


def test_verdicts(report: CheckReport) -> None:
    for check in report.checks:
        failed = [row.resource for row in check.failures]
        expected = OVER_BUDGET.get((check.path.name, check.device), [])
        assert failed == expected, (check.path.name, check.device)
        assert check.passed is (not expected)
    assert not report.passed and report.exit_code == 1


def test_values_are_the_published_figures_plus_the_board_reserves(report: CheckReport) -> None:
    published = {p.file: p for p in PUBLISHED}
    for check in report.checks:
        pub, board = published[check.path.name], get_device(check.device)
        flash, ram, _ = check.rows
        assert flash.value == pub.size_bytes + board.firmware_reserve_bytes
        assert flash.limit == board.flash_bytes
        assert ram.value == pub.cortex_m_bytes + board.runtime_reserve_bytes
        assert ram.limit == board.sram_bytes
        assert dict(ram.parts) == {"estimated Cortex-M arena": pub.cortex_m_bytes,
                                   "runtime reserve": board.runtime_reserve_bytes}
        assert ram.kind == "estimated" and ram.basis == "Cortex-M CMSIS-NN arena (estimated)"
        assert check.arenas == {"arena_bytes": pub.arena_bytes, "arena_exceeds": False,
                                "arena_cortex_m_bytes": pub.cortex_m_bytes,
                                "arena_cortex_m_unavailable": None}


def test_the_over_budget_row_says_by_how_much(report: CheckReport) -> None:
    check = next(c for c in report.checks if not c.passed)
    flash, row = check.failures
    assert flash.margin == 524_288 - (333_288 + 262_144) == -71_144
    assert row.margin == 131_072 - (100_708 + 32_768) == -2_404
    assert "over budget by 2,404 B" in row.describe()
    assert row.kind == "estimated" and "Cortex-M" in row.source


def test_latency_is_predicted_and_unchecked_without_a_limit(report: CheckReport,
                                                            fixtures_dir: Path) -> None:
    for check in report.checks:
        latency = check.rows[2]
        model = read_tflite(fixtures_dir / check.path.name)
        expected = predict_latency(file_op_costs(model), get_device(check.device)).latency_ms
        assert latency.value == pytest.approx(expected)
        assert latency.kind == "predicted" and latency.source.startswith("predicted")
        assert not latency.checked and latency.ok and latency.margin is None


def test_user_limits_tighten_the_board_and_latency_is_checked(fixtures_dir: Path) -> None:
    board = get_device("nucleo-l4r5zi")
    kws = fixtures_dir / "kws_ref_model.tflite"
    ram_needed = 22_820 + board.runtime_reserve_bytes  # 55,588 B: the Cortex-M arena
    tight = check_models([kws], [board], Limits(max_ram_bytes=ram_needed - 1, max_latency_ms=1.0))
    flash, ram, latency = tight.checks[0].rows
    assert (ram.limit, ram.margin, ram.ok) == (ram_needed - 1, -1, False)
    assert ram.limit_source.startswith("--max-ram")
    assert latency.checked and not latency.ok and latency.limit == 1.0
    assert flash.ok and flash.limit == board.flash_bytes
    exact = check_models([kws], [board], Limits(max_ram_bytes=ram_needed))
    assert exact.passed and exact.checks[0].rows[1].margin == 0
    loose = check_models([kws], [board], Limits(max_ram_bytes=10 * board.sram_bytes))
    assert loose.checks[0].rows[1].limit == board.sram_bytes  # the board is tighter
    assert "tighter than --max-ram" in loose.checks[0].rows[1].limit_source


def _small_flash_board(tmp_path: Path) -> Path:
    """A user board like the F446RE but with 384 KiB of flash (and no aliases)."""
    text = (DEVICES_DIR / "nucleo-f446re.toml").read_text()
    text = text.replace('name = "nucleo-f446re"', 'name = "tiny-flash-f4"')
    text = text.replace('aliases = ["stm32f4", "f446re"]', "aliases = []")
    text = text.replace("flash_bytes = 524_288", "flash_bytes = 393_216")
    assert 'name = "tiny-flash-f4"' in text and "flash_bytes = 393_216" in text
    folder = tmp_path / "boards"
    folder.mkdir()
    (folder / "tiny-flash-f4.toml").write_text(text)
    return folder


def test_a_model_over_the_board_flash_fails_the_flash_row(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    board = get_device("tiny-flash-f4", _small_flash_board(tmp_path))
    models = [fixtures_dir / "ad01_int8.tflite", fixtures_dir / "kws_ref_model.tflite"]
    result = check_models(models, [board])
    ad01, kws = result.checks
    assert [row.resource for row in ad01.failures] == ["flash"]
    assert ad01.rows[0].value == 276_976 + 262_144 and ad01.rows[0].limit == 393_216
    assert kws.passed


# ---- the CLI: several models in one call, JSON and JUnit ----------------------------------------


def validate_junit(path: Path) -> ET.Element:
    """The JUnit structure CI systems read: testsuites/testsuite/testcase with failure or
    skipped children, and tests/failures/errors/skipped counts that add up at every level."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root:
        assert suite.tag == "testsuite" and suite.get("name")
        datetime.fromisoformat(suite.get("timestamp", ""))
        assert float(suite.get("time", "")) >= 0
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(len(c.findall("failure")) for c in cases),
            "errors": sum(len(c.findall("error")) for c in cases),
            "skipped": sum(len(c.findall("skipped")) for c in cases),
        }
        for key, value in counts.items():
            assert int(suite.get(key, "-1")) == value, (suite.get("name"), key)
            totals[key] += value
        for case in cases:
            assert case.get("name") and case.get("classname")
            assert len(case.findall("failure")) + len(case.findall("skipped")) <= 1
            assert all(f.get("message") for f in case.findall("failure"))
    for key, value in totals.items():
        assert int(root.get(key, "-1")) == value, key
    return root


def test_cli_json_and_junit_for_four_models_on_two_boards(
    fixtures_dir: Path, tmp_path: Path, run_cli: Any
) -> None:
    models = [fixtures_dir / p.file for p in PUBLISHED]
    junit = tmp_path / "reports" / "gate.xml"
    result = run_cli("check", *models, "--device", "nucleo-f446re", "--device", "stm32",
                     "--json", "--junit", junit)  # fmt: skip
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["exit_code"] == 1
    assert len(data["checks"]) == 8
    failing = [(Path(c["model"]).name, c["device"], r["resource"])
               for c in data["checks"] for r in c["rows"] if not r["ok"]]  # fmt: skip
    assert failing == [("vww_96_int8.tflite", "nucleo-f446re", "flash"),
                       ("vww_96_int8.tflite", "nucleo-f446re", "ram"),
                       ("ad01_int8.tflite", "nucleo-f446re", "flash")]
    assert {c["device"] for c in data["checks"]} == set(BOARDS)  # the alias resolved

    root = validate_junit(junit)
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("24", "3", "8")
    messages = [f.get("message", "") for f in root.findall("./testsuite/testcase/failure")]
    assert len(messages) == 3 and any("over budget by 2,404 B" in m for m in messages)
    assert any("over budget by 71,144 B" in m for m in messages)
    suite = next(s for s in root if s.find("./testcase/failure") is not None)
    assert suite.get("name") == "vww_96_int8.tflite on nucleo-f446re"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["device"] == "nucleo-f446re" and props["sha256"].startswith("597a384c8c2c")
    assert (props["arena_bytes"], props["arena_cortex_m_bytes"]) == ("103680", "100708")
    assert props["ram_basis"] == "Cortex-M CMSIS-NN arena (estimated)"
    vww = next(c for c in data["checks"] if c["model"].endswith("vww_96_int8.tflite"))
    assert (vww["arena_bytes"], vww["arena_cortex_m_bytes"]) == (103_680, 100_708)
    ram = next(r for r in vww["rows"] if r["resource"] == "ram")
    assert ram["value"] == 100_708 + 32_768 and ram["kind"] == "estimated"
    assert ram["basis"] == "Cortex-M CMSIS-NN arena (estimated)"
    assert "Cortex-M" in data["provenance"]["ram"]
    assert data["provenance"]["arena_bytes"].startswith("measured on the host")


def test_junit_read_by_a_junit_library(fixtures_dir: Path, tmp_path: Path, run_cli: Any) -> None:
    junitparser = pytest.importorskip("junitparser")
    junit = tmp_path / "gate.xml"
    board = get_device("nucleo-f446re")
    models = [fixtures_dir / "kws_ref_model.tflite", fixtures_dir / "vww_96_int8.tflite"]
    predicted = [predict_latency(file_op_costs(read_tflite(m)), board).latency_ms for m in models]
    assert predicted[0] < predicted[1]  # KWS has a third of VWW's MACs
    limit_ms = sum(predicted) / 2  # between the two: VWW is over, KWS within
    result = run_cli("check", *models, "--device", board.name, "--max-latency", f"{limit_ms:.3f}",
                     "--junit", junit)  # fmt: skip
    assert result.returncode == 1
    xml = junitparser.JUnitXml.fromfile(str(junit))
    suites = {suite.name: suite for suite in xml}
    kws, vww = "kws_ref_model.tflite on nucleo-f446re", "vww_96_int8.tflite on nucleo-f446re"
    assert set(suites) == {kws, vww}
    failed = {(s.name, case.name) for s in xml for case in s
              if any(isinstance(r, junitparser.Failure) for r in case.result)}  # fmt: skip
    # VWW: RAM over the board, and latency over the limit
    assert failed == {(vww, "flash fits nucleo-f446re"), (vww, "ram fits nucleo-f446re"),
                      (vww, "latency fits nucleo-f446re")}
    assert (suites[kws].tests, suites[kws].failures, suites[kws].skipped) == (3, 0, 0)
    assert (suites[vww].tests, suites[vww].failures) == (3, 3)


def test_cli_table_marks_the_over_budget_row(fixtures_dir: Path, run_cli: Any) -> None:
    models = [fixtures_dir / "vww_96_int8.tflite", fixtures_dir / "kws_ref_model.tflite"]
    result = run_cli("check", *models, "--device", "nucleo-f446re")
    assert result.returncode == 1, result.stderr
    marked = [line for line in result.stdout.splitlines() if "OVER BUDGET" in line]
    assert len(marked) == 2
    assert "vww_96_int8.tflite" in marked[0]
    assert " flash " in marked[0] and "-71,144 B" in marked[0]
    assert " ram " in marked[1] and "-2,404 B" in marked[1] and "estimated (Cortex-M)" in marked[1]
    assert ("vww_96_int8.tflite: TFLM arena x86 103,680 B (measured on the host), Cortex-M "
            "CMSIS-NN 100,708 B (estimated)") in result.stdout
    summary = "check failed: 1 of 2 over budget (vww_96_int8.tflite on nucleo-f446re: flash, ram)"
    assert summary in result.stdout


def test_cli_exit_0_when_everything_fits(fixtures_dir: Path, tmp_path: Path, run_cli: Any) -> None:
    models = [fixtures_dir / p.file for p in PUBLISHED]
    junit = tmp_path / "ok.xml"
    result = run_cli("check", *models, "--device", "nucleo-l4r5zi", "--max-ram", "256KiB",
                     "--max-flash", "1MB", "--junit", junit)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OVER BUDGET" not in result.stdout and "check passed" in result.stdout
    root = validate_junit(junit)
    assert root.get("failures") == "0" and root.get("tests") == "12"


def test_junit_of_unusual_names_is_well_formed(tmp_path: Path) -> None:
    from tinynas.check import CheckRow, ModelCheck

    rows = (CheckRow("ram", 70_000, 65_536, "bytes", "measured", "--max-ram 64KiB",
                     (("TFLM arena", 37_232), ("runtime reserve", 32_768))),
            CheckRow("latency", 3.5, None, "ms", "predicted", "no --max-latency"))  # fmt: skip
    check = ModelCheck(Path('we<i>rd & "odd".tflite'), "board-1", rows, "ab" * 32, 0.25)
    path = tmp_path / "odd.xml"
    path.write_text(junit_xml(CheckReport((check,), Limits(max_ram_bytes=65_536))))
    root = validate_junit(path)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == 'we<i>rd & "odd".tflite on board-1'
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None and "over budget by 4,464 B" in failure.get("message", "")
    skipped = root.find("./testsuite/testcase/skipped")
    assert skipped is not None and "no --max-latency" in skipped.get("message", "")
