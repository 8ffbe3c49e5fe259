"""Damaged models never take tinynas down: one error line, or a verdict, never a crash or a hang.

The damage is seeded (``tinynas.testing.fuzz``): flipped bits, overwritten bytes and truncations
of MLPerf Tiny's KWS model. The regression cases are mutations that killed tinynas before the
structural check (``tinynas.tflite_file.verify_tflite``) and the TFLite Micro worker process
(``tinynas.convert``): SIGSEGV, SIGABRT and SIGFPE inside TFLM, with stderr redirected so the user
saw nothing, and a hang. ``benchmarks/fuzz_models.py`` runs the same through the real CLI at scale.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import mlperf_tiny_dir

from tinynas.check import Limits, check_models
from tinynas.convert import (
    DEFAULT_ARENA_BYTES,
    MAX_ARENA_BYTES,
    TFLMCrashError,
    measure_arena,
    run_tflm,
)
from tinynas.devices import get_device
from tinynas.errors import ModelFileError, TinyNASError
from tinynas.inspection import inspect_model
from tinynas.profile import BoardError, ProfilerClient, SerialTransport, spawn_emulator
from tinynas.testing.cli import assert_one_line_error
from tinynas.testing.fuzz import Mutation, mutations
from tinynas.testing.profiler import within
from tinynas.testing.tflite_models import write_max_pool_model
from tinynas.tflite_file import read_tflite

KWS = "kws_ref_model.tflite"
KWS_ARENA_BYTES = 24_272  # TFLM x86 build (tests/test_inspect.py)
FUZZ_SEED = 20_240
FUZZ_COUNT = 150

# Mutations of kws_ref_model.tflite that killed tinynas before (found by fuzzing the code as it
# was), and what they did; the structural check now refuses each of them.
KILLED_BEFORE = {
    "byte@25352=107": "SIGSEGV in inspect, check and profile --emulate",  # operator 2's vtable
    "flip@53868.7": "SIGABRT in inspect, check and profile --emulate",  # operator code 3's vtable
    "flip@37303.1": "SIGFPE in profile --emulate",  # a tensor shape of 85 GB
    "byte@37420=151": "SIGSEGV in profile --emulate",  # a shape of 150 garbage dimensions
    "byte@51286=246": "a hang of over a minute in profile --emulate",  # a shape of 3 GB
}
# Mutations that pass the structural check and still crash TFLite Micro: only the worker process
# stands between them and the user. (label, the TFLM call that dies, the signal)
CRASH_TFLM = {
    "byte@25435=14": ("load", "SIGABRT"),  # operator 6 reads another tensor as its weights
    "flip@25812.2": ("invoke", "SIGFPE"),  # a convolution's options out of range
}


@pytest.fixture(scope="module")
def kws() -> bytes:
    return (mlperf_tiny_dir() / KWS).read_bytes()


def _variant(kws: bytes, label: str, folder: Path) -> Path:
    path = folder / f"kws-{label}.tflite"
    path.write_bytes(Mutation.parse(label).apply(kws))
    return path


def _one_line(e: BaseException, name: str) -> None:
    text = str(e)
    assert text and "\n" not in text, text
    assert name in text, text


# ---- the fuzz, in process ---------------------------------------------------------------------


def test_fuzzed_kws_variants_inspect_and_check_or_fail_in_one_line(kws: bytes,
                                                                    tmp_path: Path) -> None:
    """Every seeded variant inspects and checks, or raises one line naming it: no crash (the
    test process would die), no hang, no other exception."""
    board = get_device("stm32")
    outcomes: Counter[str] = Counter()
    for mutation in mutations(kws, FUZZ_COUNT, FUZZ_SEED):
        path = tmp_path / f"kws-{mutation.label}.tflite"
        path.write_bytes(mutation.apply(kws))
        try:
            report = inspect_model(path, board)
        except TinyNASError as e:
            _one_line(e, path.name)
            outcomes["crash" if isinstance(e, TFLMCrashError) else "error"] += 1
            with pytest.raises(type(e)):  # check reads the model the same way first
                check_models([path], [board], Limits())
            continue
        assert report.arena.total_bytes > 0
        assert check_models([path], [board], Limits()).exit_code in (0, 1)
        outcomes["fine"] += 1
    assert outcomes["fine"] and outcomes["error"], outcomes  # the fuzz reached both sides


# ---- the regression cases, in process -----------------------------------------------------------


@pytest.mark.parametrize("label", sorted(KILLED_BEFORE))
def test_models_that_killed_tinynas_are_refused_in_one_line(kws: bytes, tmp_path: Path,
                                                            label: str) -> None:  # fmt: skip
    path = _variant(kws, label, tmp_path)
    with pytest.raises(ModelFileError, match="the file is damaged or not a TFLite model") as e:
        inspect_model(path, "stm32")
    _one_line(e.value, path.name)
    with pytest.raises(ModelFileError):
        run_tflm(path.read_bytes(), np.zeros((1, 49, 10, 1), np.int8), name=path.name)


@pytest.mark.parametrize("label", sorted(CRASH_TFLM))
def test_a_tflm_crash_is_one_line_naming_model_and_signal(kws: bytes, tmp_path: Path,
                                                          label: str) -> None:  # fmt: skip
    path = _variant(kws, label, tmp_path)
    stage, signal = CRASH_TFLM[label]
    x = np.zeros((1, 49, 10, 1), np.int8)
    if stage == "invoke":
        inspect_model(path)  # loads and measures fine
        call = lambda: run_tflm(path.read_bytes(), x, name=path.name)  # noqa: E731
    else:
        call = lambda: inspect_model(path)  # noqa: E731
    with pytest.raises(TFLMCrashError) as e:
        call()
    assert f"TFLite Micro crashed ({signal}) on {path.name}" in str(e.value)
    _one_line(e.value, path.name)
    assert measure_arena(kws).total_bytes == KWS_ARENA_BYTES  # a new worker took over


def crash_then_recover(client: ProfilerClient, kws: bytes, runs: int
                       ) -> tuple[BoardError, BoardError]:  # fmt: skip
    """Through an emulated board: a KWS variant that crashes TFLite Micro while it loads is
    refused (bad-model), one that crashes it in an inference fails that inference
    (invoke-failed), and then the intact KWS model still runs `runs` times. Returns the two
    errors."""
    within(10, client.sync)
    info = within(10, client.info)
    with pytest.raises(BoardError) as refused:
        within(60, client.upload_model, Mutation.parse("byte@25435=14").apply(kws))
    assert refused.value.code == "bad-model", refused.value
    within(60, client.upload_model, Mutation.parse("flip@25812.2").apply(kws))
    with pytest.raises(BoardError) as failed:
        within(60, client.infer, runs, 0, info)
    assert failed.value.code == "invoke-failed", failed.value
    within(60, client.upload_model, kws)
    assert len(within(60, client.infer, runs, 0, info).run_cycles) == runs
    return refused.value, failed.value


def test_a_model_that_crashes_tflm_fails_the_emulated_board_not_the_host(
        kws: bytes, tmp_path: Path) -> None:  # fmt: skip
    """In process: the emulated board (a thread of this process) answers with the protocol's
    error replies, keeps serving, and runs the next model."""
    from tinynas.profile import EmulatedBoard

    with EmulatedBoard(get_device("stm32")) as board:
        url = board.start_pty()
        with SerialTransport.open(url, 115200) as transport:
            client = ProfilerClient(transport)
            refused, failed = crash_then_recover(client, kws, runs=2)
            assert "TFLite Micro crashed (SIGABRT)" in refused.detail
            assert "TFLite Micro crashed (SIGFPE)" in failed.detail
            assert within(10, client.arena).used_bytes == KWS_ARENA_BYTES


def test_a_tflm_that_does_not_finish_is_stopped_in_one_line(tmp_path: Path) -> None:
    """An inference past its time (here a tiny one, on a valid model) is a hang: the worker is
    killed and the next call gets a new one. (A damaged model seen: kws byte@29976=139, whose
    tensor 22 lost its shape, ran for over five minutes in one inference in about half the
    tries.)"""
    model = write_max_pool_model(tmp_path / "pool.tflite", 512, 512, 3).read_bytes()
    x = np.zeros((4, 512, 512, 3), np.int8)
    with pytest.raises(TFLMCrashError, match=r"TFLite Micro hung on pool.tflite \(running took"):
        run_tflm(model, x, name="pool.tflite", timeout_s=0.001)
    assert run_tflm(model, x[:1], name="pool.tflite").shape == (1, 512, 512, 3)


# ---- a valid model whose arena is above the first measuring buffer ----------------------------


def test_an_arena_above_the_first_buffer_is_measured(tmp_path: Path) -> None:
    path = write_max_pool_model(tmp_path / "big.tflite", 1024, 1024, 3)  # 3 MiB in, 3 MiB out
    arena = inspect_model(path).arena
    assert DEFAULT_ARENA_BYTES < arena.total_bytes < 2 * DEFAULT_ARENA_BYTES
    assert arena.total_bytes >= 2 * 1024 * 1024 * 3 and not arena.exceeds
    report = check_models([path], [get_device("esp32-s3-devkitc")])  # held to the x86 arena
    assert report.exit_code == 1  # a verdict: does not fit; not an error
    ram = next(row for row in report.checks[0].rows if row.resource == "ram")
    assert not ram.ok and dict(ram.parts)["TFLM arena"] == arena.total_bytes


def test_an_arena_above_the_cap_is_a_lower_bound_that_fits_no_board(tmp_path: Path) -> None:
    path = write_max_pool_model(tmp_path / "huge.tflite", 8192, 8192, 3)  # 192 MiB in and out
    arena = inspect_model(path).arena
    assert arena.exceeds and arena.total_bytes == MAX_ARENA_BYTES
    report = check_models([path], [get_device("esp32-s3-devkitc"), get_device("stm32")])
    assert report.exit_code == 1
    x86, cortex_m = (next(row for row in check.rows if row.resource == "ram")
                     for check in report.checks)  # fmt: skip
    assert "TFLM arena (more than)" in x86.describe() and not x86.ok
    assert cortex_m.estimated and not cortex_m.ok  # the Cortex-M estimate has no cap


# ---- real processes -----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["byte@25352=107", "flip@53868.7", "byte@25435=14"])
def test_inspect_process(kws: bytes, tmp_path: Path, run_cli: Any, label: str) -> None:
    path = _variant(kws, label, tmp_path)
    line = assert_one_line_error(run_cli("inspect", path, timeout=120), path.name)
    assert ("damaged" in line or "crashed" in line), line


def test_check_junit_process_says_why_no_report(kws: bytes, tmp_path: Path,
                                                run_cli: Any) -> None:  # fmt: skip
    for label in ("flip@53868.7", "byte@25435=14"):  # refused; crashes TFLM while loading
        path, junit = _variant(kws, label, tmp_path), tmp_path / f"{label}.xml"
        result = run_cli("check", path, "--device", "stm32", "--junit", junit, timeout=120)
        line = assert_one_line_error(result, path.name)
        assert "damaged" in line and not junit.exists(), line


def test_check_junit_process_writes_the_report_of_a_model_tflm_can_load(
        kws: bytes, tmp_path: Path, run_cli: Any) -> None:  # fmt: skip
    path, junit = _variant(kws, "flip@25812.2", tmp_path), tmp_path / "gate.xml"
    result = run_cli("check", path, "--device", "stm32", "--junit", junit, timeout=120)
    assert result.returncode == 0, result.stderr
    assert ET.parse(junit).getroot().get("tests") == "3"


def test_check_process_exits_1_for_an_arena_above_the_first_buffer(tmp_path: Path,
                                                                  run_cli: Any) -> None:
    path = write_max_pool_model(tmp_path / "big.tflite", 1024, 1024, 3)
    junit = tmp_path / "gate.xml"
    result = run_cli("check", path, "--device", "stm32", "--junit", junit, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    assert ET.parse(junit).getroot().get("failures") == "1"


@pytest.mark.parametrize("label", ["flip@37303.1", "byte@51286=246", "flip@25812.2"])
def test_profile_emulate_process(kws: bytes, tmp_path: Path, run_cli: Any, label: str) -> None:
    path = _variant(kws, label, tmp_path)
    started = time.monotonic()
    result = run_cli("profile", path, "--emulate", "stm32", timeout=120)
    line = assert_one_line_error(result)
    assert time.monotonic() - started < 60  # byte@51286=246 hung for over a minute
    if label in CRASH_TFLM:
        assert "invoke-failed" in line and "TFLite Micro crashed (SIGFPE)" in line, line
    else:
        assert path.name in line and "damaged" in line, line


@pytest.mark.slow  # about 10 s for each try that hangs
@pytest.mark.long
def test_profile_emulate_process_stops_an_inference_that_does_not_end(
        kws: bytes, tmp_path: Path, run_cli: Any) -> None:  # fmt: skip
    """byte@29976=139 sends TFLM's loops through garbage sizes in some tries (it hung the
    emulated board until the host gave up after 60 s, and the host's own run for 5 minutes):
    the board now answers invoke-failed after ~10 s, or the outputs differ (exit 1)."""
    path = _variant(kws, "byte@29976=139", tmp_path)
    for _ in range(2):
        started = time.monotonic()
        result = run_cli("profile", path, "--emulate", "stm32", "--runs", "3", timeout=120)
        assert time.monotonic() - started < 40
        assert result.returncode in (1, 2), result.stderr
        if result.returncode == 2:
            assert "invoke-failed" in assert_one_line_error(result)


@pytest.mark.cli
def test_emulate_process_answers_a_crashing_model_and_lives_on(kws: bytes) -> None:
    proc, url = spawn_emulator("stm32", "--pty")
    try:
        with SerialTransport.open(url, 115200) as transport:
            crash_then_recover(ProfilerClient(transport), kws, runs=1)
            assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("target", ["/dev/zero", "folder"])
def test_inspect_process_refuses_what_is_not_a_regular_file(tmp_path: Path, run_cli: Any,
                                                            target: str) -> None:  # fmt: skip
    path = tmp_path if target == "folder" else Path(target)
    started = time.monotonic()
    result = run_cli("inspect", path, timeout=60)
    assert_one_line_error(result, str(path))
    assert time.monotonic() - started < 30


def test_the_read_model_is_the_checked_one(kws: bytes, tmp_path: Path) -> None:
    """TFLM gets the bytes that were verified, not a second read of a file that may change."""
    path = tmp_path / "kws.tflite"
    path.write_bytes(kws)
    model = read_tflite(path)
    path.write_bytes(Mutation.parse("byte@25435=14").apply(kws))  # changed after the check
    assert measure_arena(model.data, name=path.name).total_bytes == KWS_ARENA_BYTES

