"""``tinynas profile``, ``emulate``, ``ports`` and ``flash`` run as real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from helpers import DEVICES_DIR, run_cli

from tinynas.profile import FAULTS_ENV, ProfilerClient, SerialTransport, spawn_emulator
from tinynas.testing.cli import assert_one_line_error as one_line_error
from tinynas.testing.profiler import reference_model, within
from tinynas.tflite_file import read_tflite

# run_cli (a real process) leaves $TINYNAS_DEVICES and $TINYNAS_EMULATOR_FAULTS unset unless a
# test gives them in env=; the tests that start processes are marked `cli`


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``tinynas ARGS`` in this process (for error paths: no interpreter start-up)."""
    from tinynas.cli import main

    with pytest.raises(SystemExit) as caught:
        main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(caught.value.code or 0), out, err)




@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.tflite"
    path.write_bytes(reference_model())
    return path


def small_board(folder: Path, sram: str) -> Path:
    """nucleo-f446re renamed ``tiny-board`` with ``sram`` bytes of SRAM."""
    text = (DEVICES_DIR / "nucleo-f446re.toml").read_text(encoding="utf-8")
    text = text.replace('name = "nucleo-f446re"', 'name = "tiny-board"')
    text = text.replace('aliases = ["stm32f4", "f446re"]', "aliases = []")
    text = text.replace("sram_bytes = 131_072", f"sram_bytes = {sram}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny-board.toml").write_text(text, encoding="utf-8")
    return folder


# ---- profile --------------------------------------------------------------------------------


@pytest.mark.cli
def test_profile_json_is_emulated(model_file: Path) -> None:
    result = run_cli("profile", str(model_file), "--emulate", "stm32", "--runs", "3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"] == "emulated" and data["board"]["emulated"] is True
    assert len(data["run_latency_ms"]) == 3 and data["output_matches"] is True
    assert [op["op"] for op in data["ops"]] == [op.op for op in read_tflite(model_file).ops]
    assert data["input"] == "random:1"


@pytest.mark.cli
def test_profile_table_says_emulated(model_file: Path) -> None:
    result = run_cli("profile", str(model_file), "--emulate", "nucleo-l4r5zi", "--runs", "2",
                     "--input", "zeros")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(emulated)" in result.stdout and "matches host TFLM" in result.stdout
    assert "zeros" in result.stdout and "per-op cycles" in result.stdout


@pytest.mark.cli
def test_profile_retries_faults_from_the_environment(model_file: Path) -> None:
    result = run_cli("profile", str(model_file), "--emulate", "stm32", "--runs", "1", "--json",
                     env={FAULTS_ENV: "corrupt:2"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["upload"]["retries"] == 2


@pytest.mark.parametrize("args, fragments", [
    ((), ("exactly one of a port",)),
    (("--port", "/dev/null-x", "--emulate", "stm32"), ("exactly one of a port",)),
    (("--port", "/dev/no-such-port"), ("cannot open serial port", "tinynas ports")),
    (("--emulate", "no-such-board"), ("board 'no-such-board' not found",)),
    (("--emulate", "stm32", "--runs", "0"), ("--runs: 0", "1<=x<=10000")),
    (("--emulate", "stm32", "--infer-timeout", "0"), ("--infer-timeout: 0", "greater than 0")),
    (("--emulate", "stm32", "--reply-timeout", "-1"), ("--reply-timeout: -1", "greater than 0")),
])  # fmt: skip
def test_profile_errors(capsys: pytest.CaptureFixture[str], model_file: Path,
                        args: tuple[str, ...], fragments: tuple[str, ...]) -> None:  # fmt: skip
    one_line_error(run_main(capsys, "profile", str(model_file), *args), *fragments)


@pytest.mark.cli
def test_profile_infer_timeout_bounds_a_stalled_board(model_file: Path) -> None:
    start = time.monotonic()
    result = run_cli("profile", str(model_file), "--emulate", "stm32", "--runs", "1",
                     "--infer-timeout", "1.5", env={FAULTS_ENV: "stall:infer"})  # fmt: skip
    elapsed_s = time.monotonic() - start
    one_line_error(result, "infer 1 1: no reply from the board")
    # the default would wait 60 s a line; 1.5 s a line over runs + warm-up + 4 lines is 9 s
    assert elapsed_s < 40, elapsed_s


@pytest.mark.cli
def test_profile_refuses_a_model_the_board_cannot_hold(model_file: Path, tmp_path: Path) -> None:
    pool_bytes = model_file.stat().st_size // 2  # SRAM left after the runtime reserve
    folder = small_board(tmp_path / "devices", str(32_768 + pool_bytes))
    result = run_cli("profile", str(model_file), "--emulate", "tiny-board", "--devices-dir",
                     str(folder))  # fmt: skip
    one_line_error(result, "model-too-large", f"holds {pool_bytes} bytes")


def test_profile_refuses_a_file_that_is_not_a_model(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "notes.tflite"
    path.write_text("not a model")
    one_line_error(run_main(capsys, "profile", str(path), "--emulate", "stm32"), "notes.tflite")


# ---- emulate --------------------------------------------------------------------------------


@pytest.mark.cli
def test_emulate_serves_on_tcp() -> None:
    proc, url = spawn_emulator("nucleo-f446re", "--tcp", "0", "--seed", "5")
    try:
        assert url.startswith("socket://127.0.0.1:")
        with SerialTransport.open(url, 115200) as transport:
            client = ProfilerClient(transport)
            within(10, client.sync)
            info = within(10, client.info)
        assert (info.board, info.emulated) == ("nucleo-f446re", True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.cli
def test_emulate_serves_on_a_pty_until_stopped(model_file: Path) -> None:
    proc, url = spawn_emulator("stm32", "--pty", "--slot-model", str(model_file))
    try:
        assert url.startswith("/dev/")
        with SerialTransport.open(url, 115200) as transport:
            client = ProfilerClient(transport)
            within(10, client.sync)
            assert len(within(10, client.load_slot)) == 8
    finally:
        start = time.monotonic()
        proc.terminate()
        proc.wait(timeout=10)
        assert time.monotonic() - start < 5


@pytest.mark.parametrize("args, fragments", [
    (("no-such-board",), ("board 'no-such-board' not found",)),
    (("stm32", "--fault", "explode:1"), ("bad emulator fault 'explode:1'",)),
    (("stm32", "--pty", "--tcp", "0"), ("--pty or --tcp",)),
    (("stm32", "--chunk-bytes", "0"), ("--chunk-bytes: 0", "1<=x<=65535")),
])  # fmt: skip
def test_emulate_errors(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                       fragments: tuple[str, ...]) -> None:  # fmt: skip
    one_line_error(run_main(capsys, "emulate", *args), *fragments)


# ---- ports and flash ------------------------------------------------------------------------


@pytest.mark.cli
def test_ports_lists_this_machines_ports() -> None:
    result = run_cli("ports", "--json")
    assert result.returncode == 0, result.stderr
    for port in json.loads(result.stdout):
        assert set(port) >= {"port", "usb_id", "product", "board", "candidates"}
        assert port["usb_id"] is not None
    text = run_cli("ports")
    assert text.returncode == 0 and text.stdout.strip()


@pytest.mark.cli
def test_flash_without_a_probe_is_one_clear_line(model_file: Path, tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_cli("flash", "--device", "stm32", "--model", str(model_file))
    one_line_error(result, "no debug probe found for board 'nucleo-l4r5zi'", "stm32l4r5zitx")
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("device, args, fragments", [
    ("esp32-s3-devkitc", ("MODEL", "--model"), ("has no model slot",)),
    ("stm32", ("x.hex",), ("firmware file 'x.hex' not found",)),
    ("stm32", ("notes.txt",), ("not a firmware file",)),
    ("teensy-41", ("FIRMWARE",), ("no pyocd target",)),
    ("stm32", ("FIRMWARE", "--model"), ("is not a TFLite model",)),
])  # fmt: skip
def test_flash_errors(capsys: pytest.CaptureFixture[str], model_file: Path, tmp_path: Path,
                      device: str, args: tuple[str, ...], fragments: tuple[str, ...]
                      ) -> None:  # fmt: skip
    firmware = tmp_path / "profiler.bin"
    firmware.write_bytes(bytes(1024))
    paths = {"MODEL": str(model_file), "FIRMWARE": str(firmware)}
    result = run_main(capsys, "flash", "--device", device, *(paths.get(a, a) for a in args))
    one_line_error(result, *fragments)
