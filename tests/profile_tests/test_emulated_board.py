"""What only the emulated board does: emulated cycles from the latency model, real TFLM arena,
counter wraps, the flash slot, and every injected fault ending in bounded time."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from helpers import DEVICES_DIR

from tinynas.convert import measure_arena
from tinynas.devices import Device, get_device
from tinynas.errors import DeviceTimeoutError, ProfilerError
from tinynas.estimators import file_op_costs, predict_latency
from tinynas.profile import (
    FAULTS_ENV,
    BoardError,
    EmulatedBoard,
    Faults,
    ProfilerClient,
    SerialTransport,
    Timeouts,
    profile_model,
    slot_plan,
)
from tinynas.profile._engine import RUN_OVERHEAD_CYCLES
from tinynas.profile._protocol import TIMER_WRAP, random_input
from tinynas.testing.profiler import host_output, input_shape, reference_model, within
from tinynas.tflite_file import read_tflite

FAST = Timeouts(reply_s=1.0, ack_margin_s=0.3, infer_line_s=1.0)


@pytest.fixture(scope="module")
def model() -> bytes:
    return reference_model()


@pytest.fixture(scope="module")
def model_file(model: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.tflite"
    path.write_bytes(model)
    return path


@pytest.fixture(scope="module")
def l4() -> Device:
    return get_device("nucleo-l4r5zi")


@contextmanager
def connected(board: EmulatedBoard, timeouts: Timeouts = FAST, baud: int = 115200,
              tcp: bool = False) -> Iterator[ProfilerClient]:  # fmt: skip
    """A synced client of ``board``, served from a thread; both closed afterwards."""
    url = board.start_tcp() if tcp else board.start_pty()
    transport = SerialTransport.open(url, baud)
    try:
        client = ProfilerClient(transport, timeouts)
        within(10, client.sync)
        yield client
    finally:
        transport.close()
        board.stop()


# ---- emulated, and labelled so ------------------------------------------------------------


def test_profile_result_is_emulated_and_matches_tflm(model_file: Path) -> None:
    result = within(60, profile_model, model_file, emulate="stm32", runs=4, warmup=1)
    assert result.board.emulated and result.source == "emulated"
    assert result.board.board == "nucleo-l4r5zi"
    assert result.output_matches and result.output_crc32 == result.host_output_crc32
    assert len(result.run_latency_ms) == 4
    assert result.min_latency_ms <= result.latency_ms <= result.max_latency_ms
    data = json.loads(json.dumps(result.to_dict()))
    assert data["source"] == "emulated"
    assert data["provenance"]["latency_ms"].startswith("emulated on nucleo-l4r5zi")
    assert result.board.latency_source in data["provenance"]["latency_ms"]


def test_cycles_follow_the_latency_model(model: bytes, model_file: Path, l4: Device) -> None:
    predicted = predict_latency(file_op_costs(read_tflite(model_file)), l4)
    with connected(EmulatedBoard(l4, jitter=0.0, faults=Faults())) as client:
        board = client.info()
        client.upload_model(model)
        inference = client.infer(3, 0, board)
    exact = [round(c) for _, c in predicted.per_op_cycles]
    assert [s.cycles for s in inference.ops if s.run == 0] == exact
    assert inference.run_cycles == (sum(exact) + RUN_OVERHEAD_CYCLES,) * 3
    assert "emulated" in board.kernels or "x86" in board.runtime


def test_jitter_is_seeded_and_small(model: bytes, l4: Device) -> None:
    def cycles(seed: int) -> tuple[int, ...]:
        with connected(EmulatedBoard(l4, seed=seed, jitter=0.01, faults=Faults())) as client:
            board = client.info()
            client.upload_model(model)
            return client.infer(5, 0, board).run_cycles

    first, again, other = cycles(3), cycles(3), cycles(4)
    assert first == again and first != other
    assert statistics.pstdev(first) / statistics.mean(first) < 0.01


def test_arena_is_tflms_own(model: bytes, l4: Device) -> None:
    with connected(EmulatedBoard(l4, faults=Faults())) as client:
        client.upload_model(model)
        arena = client.arena()
    assert arena.used_bytes == measure_arena(model).total_bytes


def test_runs_across_counter_wraps(model: bytes, l4: Device) -> None:
    with connected(EmulatedBoard(l4, jitter=0.0, faults=Faults())) as client:
        board = client.info()
        client.upload_model(model)
        replies = client.command("infer 4 0")
    runs = [r for r in replies if r.kind == "run"]
    ops = [r for r in replies if r.kind == "op"]
    assert any(r.number(2) < r.number(1) for r in runs)  # the counter wrapped in some run
    expected = sum(r.number(3) for r in ops) // 4 + RUN_OVERHEAD_CYCLES
    for r in runs:
        assert (r.number(2) - r.number(1)) % TIMER_WRAP == expected
    assert board.us_timer


def _slow_board(folder: Path) -> Device:
    """nucleo-l4r5zi at 3000 cycles per MAC: one inference of the KWS model spans two wraps."""
    text = (DEVICES_DIR / "nucleo-l4r5zi.toml").read_text(encoding="utf-8")
    text = text.replace('name = "nucleo-l4r5zi"', 'name = "slow-board"')
    text = text.replace('aliases = ["stm32", "stm32l4", "l4r5zi"]', "aliases = []")
    text = re.sub(r"cycles_per_mac = [0-9.]+", "cycles_per_mac = 3000.0", text)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "slow-board.toml").write_text(text, encoding="utf-8")
    return get_device("slow-board", folder)


def test_run_longer_than_a_counter_wrap(model: bytes, tmp_path: Path) -> None:
    device = _slow_board(tmp_path / "devices")
    with connected(EmulatedBoard(device, jitter=0.0, faults=Faults())) as client:
        board = client.info()
        client.upload_model(model)
        inference = client.infer(2, 0, board)
    per_run = sum(s.cycles for s in inference.ops if s.run == 0) + RUN_OVERHEAD_CYCLES
    if per_run <= TIMER_WRAP:
        pytest.skip("the test model is too small to span a counter wrap")
    assert inference.run_cycles == (per_run, per_run)


def test_model_from_the_flash_slot(model: bytes, l4: Device) -> None:
    board = EmulatedBoard(l4, faults=Faults(), slot_image=slot_plan(l4, model))
    with connected(board) as client:
        crc = client.load_slot()
        arena = client.arena()
        info = client.info()
    assert crc == f"{__import__('zlib').crc32(model):08X}"
    assert (arena.model_in, arena.available_bytes) == ("flash", info.pool_bytes)
    assert info.slot_bytes == l4.flash_budget_bytes - 4


def test_paced_upload_runs_at_the_line_rate(model: bytes, l4: Device) -> None:
    baud = 921_600 if len(model) > 20_000 else 115_200  # about half a second on the line
    with connected(EmulatedBoard(l4, baud=baud, faults=Faults()), baud=baud) as client:
        stats = within(30, client.upload_model, model)
    line_s = len(model) * 10 / baud
    assert stats.seconds >= 0.95 * line_s  # really paced
    assert stats.seconds < 2.5 * line_s  # and not far off the line rate


# ---- faults: each ends in a retry or a clear error, in bounded time ------------------------


@pytest.mark.parametrize("fault", ["drop:2", "corrupt:2", "noack:1"])
def test_damaged_frames_are_retried(model: bytes, l4: Device, fault: str) -> None:
    with connected(EmulatedBoard(l4, faults=Faults.parse([fault]))) as client:
        start = time.monotonic()
        stats = within(20, client.upload_model, model)
        board = client.info()
        output = client.infer(1, 0, board).output_crc32
    assert stats.retries == int(fault.split(":")[1])
    assert time.monotonic() - start < 10
    assert len(output) == 8


def test_a_line_that_keeps_corrupting_fails_clearly(model: bytes, l4: Device) -> None:
    with connected(EmulatedBoard(l4, faults=Faults.parse(["corrupt:1000"]))) as client:
        with pytest.raises(ProfilerError, match="failed 5 times .*crc, crc"):
            within(20, client.upload_model, model)
        within(10, client.sync)  # the board is back in command mode
        assert client.info().board == "nucleo-l4r5zi"


def test_garbage_lines_are_skipped(model: bytes, l4: Device) -> None:
    with connected(EmulatedBoard(l4, faults=Faults.parse(["garbage:3"]))) as client:
        board = client.info()
        client.upload_model(model)
        assert len(client.infer(2, 0, board).run_cycles) == 2
        assert client.noise_lines > 0


def test_board_stalled_at_infer_times_out(model: bytes, l4: Device) -> None:
    with connected(EmulatedBoard(l4, faults=Faults.parse(["stall:infer"]))) as client:
        board = client.info()
        client.upload_model(model)
        start = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="infer 1 0: no reply from the board"):
            within(20, client.infer, 1, 0, board)
        assert time.monotonic() - start < 3 * FAST.infer_line_s


def test_board_stalled_mid_upload_times_out(model: bytes, l4: Device) -> None:
    baud = 921_600  # the host sizes its ack timeout from the baud rate
    board = EmulatedBoard(l4, faults=Faults.parse(["stall:upload"]))
    with connected(board, baud=baud) as client:
        start = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="stopped answering during the model upload"):
            within(20, client.upload_model, model)
        assert time.monotonic() - start < 6


def test_board_stalled_at_info_times_out(l4: Device) -> None:
    board = EmulatedBoard(l4, faults=Faults.parse(["stall:info"]))
    with connected(board) as client, pytest.raises(DeviceTimeoutError, match="info: no reply"):
        within(10, client.info)


def test_disconnect_mid_upload_is_a_clear_error(model: bytes, l4: Device) -> None:
    board = EmulatedBoard(l4, faults=Faults.parse(["disconnect:upload"]))
    with connected(board) as client, pytest.raises(ProfilerError, match="lost the connection"):
        within(20, client.upload_model, model)


def test_disconnect_at_a_command_is_a_clear_error(l4: Device) -> None:
    board = EmulatedBoard(l4, faults=Faults.parse(["disconnect:info"]))
    with connected(board) as client, pytest.raises(ProfilerError, match="lost the connection"):
        within(20, client.info)


def test_nobody_behind_the_port(l4: Device) -> None:
    board = EmulatedBoard(l4, faults=Faults())
    url = board.open_pty()  # a port, but nothing serving it
    try:
        with SerialTransport.open(url, 115200) as transport:
            client = ProfilerClient(transport, Timeouts(reply_s=0.3))
            start = time.monotonic()
            with pytest.raises(DeviceTimeoutError, match="3 sync attempts"):
                within(10, client.sync)
            assert time.monotonic() - start < 3
    finally:
        board.stop()


def test_fault_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Faults.parse(["drop:2", "stall:infer"]) == Faults(drop=2, stall="infer")
    for bad in ("drop", "drop:x", "explode:1", "stall:", "stall:1"):
        with pytest.raises(ProfilerError, match="bad emulator fault"):
            Faults.parse([bad])
    monkeypatch.setenv(FAULTS_ENV, "corrupt:1, garbage:2")
    assert Faults.from_env() == Faults(corrupt=1, garbage=2)


def test_pty_and_tcp_serve_the_same_board(model: bytes, l4: Device) -> None:
    for tcp in (False, True):
        with connected(EmulatedBoard(l4, faults=Faults()), tcp=tcp) as client:
            assert client.info().board == "nucleo-l4r5zi"
            assert client.upload_model(model).model_in == "ram"
    assert input_shape(model)[0] == 1


# ---- a board running MLPerf Tiny runner firmware -------------------------------------------


def test_mlperf_firmware_can_be_driven(model: bytes, model_file: Path, l4: Device) -> None:
    board = EmulatedBoard(l4, jitter=0.0, faults=Faults(), mlperf=True,
                          slot_image=slot_plan(l4, model))  # fmt: skip
    info = read_tflite(model_file)
    data = random_input(9, int(np.prod(info.input_shape)))
    with connected(board) as client:
        assert client.name() == "nucleo-l4r5zi"
        with pytest.raises(ProfilerError, match="MLPerf Tiny runner firmware"):
            client.info()
        with pytest.raises(BoardError, match="Unknown command"):
            client.upload_model(model)
        client.load_input(data)  # EEMBC's db load N% / db HEX%
        laps = client.infer_laps(4, 1)
    predicted = predict_latency(file_op_costs(info), l4)
    per_run_ms = 1000 * (sum(round(c) for _, c in predicted.per_op_cycles)
                         + RUN_OVERHEAD_CYCLES) / l4.clock_hz  # fmt: skip
    assert laps.latency_ms == pytest.approx(per_run_ms, abs=0.002)  # microsecond laps
    expected = np.frombuffer(host_output(model, data), np.int8).astype(float)
    scale, zero_point = info.output_scale or 1.0, info.output_zero_point or 0
    assert laps.results == pytest.approx(tuple((expected - zero_point) * scale), abs=0.0005)


def test_mlperf_mode_needs_a_compiled_in_model(l4: Device) -> None:
    with pytest.raises(ProfilerError, match="compiled-in model"):
        EmulatedBoard(l4, mlperf=True)
