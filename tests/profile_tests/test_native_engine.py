"""The firmware's protocol engine (``profilers/firmware/engine``), compiled natively and driven
by the host client over a pty.

The engine is the same C code a board runs; here it runs in the native harness with the fake
runner (``profilers/firmware/native``), whose output is a fixed function of the input and whose
per-op cycles are fixed numbers, and which does not read the model past its TFL3 identifier.
So these tests check what the protocol carries (bytes, CRCs, counters, every error reply)
against that function; that a board's output equals TFLM's is checked against the emulated
board, which runs real TFLM (``test_profiler_contract.py``). Nothing here needs TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import subprocess
import tty
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO_ROOT as REPO

from tinynas.devices import get_device
from tinynas.profile import BoardError, BoardInfo, ProfilerClient, SerialTransport
from tinynas.profile._protocol import crc_hex, random_input, slot_image
from tinynas.testing.profiler import ProfilerTestCase, within

FIRMWARE = REPO / "profilers" / "firmware"
BOARDS = sorted(path.stem for path in (REPO / "devices").glob("*.toml"))
PORTS = sorted(path.stem for path in (FIRMWARE / "boards").glob("*.cmake"))
HARNESS_SOURCES = sorted((FIRMWARE / "engine").glob("*.c")) + sorted(
    (FIRMWARE / "native").glob("*.c")
)
C_FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# The harness's defaults (native/host_main.c): fake ops, per-run overhead, tensor sizes.
DEFAULT_OP_CYCLES = (120000, 40000, 90000, 6000, 8000, 1500)
DEFAULT_OVERHEAD_CYCLES = 100
DEFAULT_INPUT_BYTES = 490
DEFAULT_OUTPUT_BYTES = 12
START_S = 10.0


def _fake_model(size_bytes: int) -> bytes:
    """Bytes the engine accepts as a model (the TFL3 identifier at 4..8); the fake runner does
    not read the rest, so no TensorFlow is needed to make one."""
    noise = np.random.default_rng(0).integers(0, 256, size_bytes - 8, dtype=np.uint8)
    return b"\x1c\x00\x00\x00TFL3" + noise.tobytes()


FAKE_MODEL = _fake_model(40_000)


def fake_output(data: bytes, output_bytes: int) -> bytes:
    """What the fake runner computes from input ``data`` (native/fake_runner.h)."""
    total = sum(data)
    weighted = sum(value * (i + 1) for i, value in enumerate(data))
    return bytes((weighted + j * total) & 0xFF for j in range(output_bytes))


def as_int8(data: bytes) -> tuple[int, ...]:
    return tuple(np.frombuffer(data, np.int8).tolist())


@pytest.fixture(scope="session")
def native_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The native harness, compiled with the host C compiler (warnings are errors)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no host C compiler (gcc or cc) to build the native protocol engine")
    binary = tmp_path_factory.mktemp("native") / "tinynas-native"
    command = [compiler, *C_FLAGS, f"-I{FIRMWARE / 'engine'}", *map(str, HARNESS_SOURCES),
               "-o", str(binary)]  # fmt: skip
    built = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return binary


def _first_line(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_S)
    if not ready:
        proc.kill()
        pytest.fail(f"the native harness printed no port within {START_S} s")
    return proc.stdout.readline().decode()


@contextlib.contextmanager
def harness_on_pty(binary: Path, *args: str) -> Iterator[str]:
    """Run the harness with ``--pty``; yields the port path it prints."""
    proc = subprocess.Popen([str(binary), "--pty", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        line = _first_line(proc)
        assert " on /dev/" in line, line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@contextlib.contextmanager
def connected(url: str, baud: int = 115200) -> Iterator[ProfilerClient]:
    transport = SerialTransport.open(url, baud)
    try:
        client = ProfilerClient(transport)
        within(10, client.sync)
        yield client
    finally:
        transport.close()


class TestNativeEngine(ProfilerTestCase):
    """The profiler contract suite against the natively compiled engine."""

    upload_idle_s = 0.5
    # The fake runner's output is not TFLM's, so the two contract tests that compare with the
    # host's TFLM are replaced by the fake-output versions below.
    test_upload_infer_matches_host_tflm = None
    test_zeros_and_db_input = None

    @pytest.fixture
    def board_url(self, native_harness: Path) -> Iterator[str]:
        idle_ms = str(int(self.upload_idle_s * 1000))
        with harness_on_pty(native_harness, "--upload-idle-ms", idle_ms) as url:
            yield url

    @pytest.fixture
    def model(self) -> bytes:
        return FAKE_MODEL

    def test_upload_infer_carries_the_fake_output(
        self, client: ProfilerClient, board: BoardInfo, model: bytes
    ) -> None:
        upload = within(self.limit_s, client.upload_model, model)
        assert (upload.model_bytes, upload.crc32, upload.model_in) == (len(model),
                                                                       crc_hex(model), "ram")
        within(self.limit_s, client.set_input, 7)
        inference = within(self.limit_s, client.infer, 3, 1, board)
        expected = fake_output(random_input(7, DEFAULT_INPUT_BYTES), DEFAULT_OUTPUT_BYTES)
        assert inference.run_cycles == (sum(DEFAULT_OP_CYCLES) + DEFAULT_OVERHEAD_CYCLES,) * 3
        assert [s.cycles for s in inference.ops if s.run == 2] == list(DEFAULT_OP_CYCLES)
        carried = (as_int8(expected), DEFAULT_OUTPUT_BYTES, crc_hex(expected))
        assert (inference.results, inference.output_bytes, inference.output_crc32) == carried
        assert within(self.limit_s, client.results) == carried

    def test_zeros_and_db_input_reach_the_runner(self, client: ProfilerClient, board: BoardInfo,
                                                 model: bytes) -> None:  # fmt: skip
        within(self.limit_s, client.upload_model, model)
        size = DEFAULT_INPUT_BYTES
        within(self.limit_s, client.set_input, 3)
        within(self.limit_s, client.set_input, None)
        zeros = within(self.limit_s, client.infer, 1, 0, board)
        assert zeros.output_crc32 == crc_hex(fake_output(bytes(size), DEFAULT_OUTPUT_BYTES))
        data = bytes(np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8))
        within(self.limit_s, client.load_input, data)
        loaded = within(self.limit_s, client.infer, 1, 0, board)
        assert loaded.output_crc32 == crc_hex(fake_output(data, DEFAULT_OUTPUT_BYTES))


# ---- beyond the contract: counters, invoke failure, flash slot, long outputs ---------------


def test_runs_longer_than_a_counter_wrap(native_harness: Path) -> None:
    ops = "CONV_2D:2000000000,CONV_2D:2000000000,FULLY_CONNECTED:2000000000"
    args = ("--ops", ops, "--overhead-cycles", "0", "--start-cycles", "4294967000")
    with harness_on_pty(native_harness, *args) as url, connected(url) as client:
        board = within(10, client.info)
        within(10, client.upload_model, FAKE_MODEL)
        inference = within(10, client.infer, 2, 0, board)
    # 6e9 cycles wrap the 32-bit counter once; the microsecond timer tells the host so
    assert inference.run_cycles == (6_000_000_000, 6_000_000_000)
    assert [s.op for s in inference.ops if s.run == 0] == ["CONV_2D", "CONV_2D",
                                                           "FULLY_CONNECTED"]  # fmt: skip


def test_without_a_us_timer_runs_must_stay_within_one_wrap(native_harness: Path) -> None:
    ops = "CONV_2D:3000000000,CONV_2D:3000000000"
    args = ("--ops", ops, "--overhead-cycles", "0", "--no-us-timer")
    with harness_on_pty(native_harness, *args) as url, connected(url) as client:
        board = within(10, client.info)
        within(10, client.upload_model, FAKE_MODEL)
        inference = within(10, client.infer, 1, 0, board)
        lap = within(10, client.timestamp_us)
    assert board.us_timer is False and lap == 0
    assert inference.run_cycles == (6_000_000_000 % 2**32,)  # PROTOCOL.md section 2


def test_invoke_failed(native_harness: Path) -> None:
    with harness_on_pty(native_harness, "--fail-invoke") as url, connected(url) as client:
        board = within(10, client.info)
        within(10, client.upload_model, FAKE_MODEL)
        with pytest.raises(BoardError) as caught:
            within(10, client.infer, 1, 1, board)
        assert caught.value.code == "invoke-failed" and "fake runner" in caught.value.detail
        with pytest.raises(BoardError) as no_results:
            within(10, client.results)
        assert no_results.value.code == "no-results"


def test_model_slot_loads_from_flash(native_harness: Path, tmp_path: Path) -> None:
    model = FAKE_MODEL
    image = tmp_path / "slot.bin"
    image.write_bytes(slot_image(model))
    args = ("--slot", str(image), "--slot-bytes", str(len(model) + 100))
    with harness_on_pty(native_harness, *args) as url, connected(url) as client:
        board = within(10, client.info)
        assert within(10, client.load_slot) == crc_hex(model)
        arena = within(10, client.arena)
        inference = within(10, client.infer, 1, 0, board)
    assert board.slot_bytes == len(model) + 100
    assert (arena.model_in, arena.model_bytes, arena.available_bytes) == ("flash", len(model),
                                                                          board.pool_bytes)
    zeros = bytes(DEFAULT_INPUT_BYTES)  # a loaded model's input starts as zeros
    assert inference.output_crc32 == crc_hex(fake_output(zeros, DEFAULT_OUTPUT_BYTES))


@pytest.mark.parametrize(("content", "code"), [
    (None, "slot-empty"),  # erased flash: the length reads 0xFFFFFFFF
    ((600).to_bytes(4, "little") + b"x" * 600, "bad-model"),  # no TFL3 identifier
    ((5000).to_bytes(4, "little") + bytes(5000), "slot-empty"),  # longer than the slot
])  # fmt: skip
def test_model_slot_refusals(native_harness: Path, tmp_path: Path, content: bytes | None,
                             code: str) -> None:  # fmt: skip
    args: tuple[str, ...] = ("--slot-bytes", "1000")
    if content is not None:
        (tmp_path / "slot.bin").write_bytes(content)
        args += ("--slot", str(tmp_path / "slot.bin"))
    with harness_on_pty(native_harness, *args) as url, connected(url) as client:
        with pytest.raises(BoardError) as caught:
            within(10, client.load_slot)
    assert caught.value.code == code


def test_results_line_holds_the_first_256_values(native_harness: Path) -> None:
    with harness_on_pty(native_harness, "--output-bytes", "300") as url, \
            connected(url) as client:  # fmt: skip
        board = within(10, client.info)
        within(10, client.upload_model, FAKE_MODEL)
        within(10, client.set_input, 11)
        inference = within(10, client.infer, 1, 0, board)
    expected = fake_output(random_input(11, DEFAULT_INPUT_BYTES), 300)
    assert inference.results == as_int8(expected)[:256]
    assert (inference.output_bytes, inference.output_crc32) == (300, crc_hex(expected))


def test_stdio_mode_behind_a_pty(native_harness: Path) -> None:
    """Without --pty the harness speaks on stdin/stdout (e.g. behind socat)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([str(native_harness), "--board", "stdio-board"], stdin=master,
                            stdout=master, stderr=subprocess.PIPE)  # fmt: skip
    os.close(master)
    try:
        with connected(os.ttyname(slave)) as client:
            assert within(10, client.name) == "stdio-board"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        os.close(slave)


# ---- builds ---------------------------------------------------------------------------------

ENGINE_IMPORTS = {"memcmp", "memcpy", "memset", "strcmp"}


def test_engine_cross_compiles_for_cortex_m4(tmp_path: Path) -> None:
    """The engine is portable C99 that needs nothing from the C library beyond mem*/strcmp."""
    gcc, nm = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-nm")
    if gcc is None or nm is None:
        pytest.skip("arm-none-eabi-gcc is not installed; the firmware's cross build is untested")
    objects = []
    for source in sorted((FIRMWARE / "engine").glob("*.c")):
        obj = tmp_path / f"{source.stem}.o"
        flags = ["-mcpu=cortex-m4", "-mthumb", "-Os", *C_FLAGS, "-Wconversion", "-Wshadow"]
        built = subprocess.run([gcc, *flags, "-c", str(source), "-o", str(obj)],
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert built.returncode == 0, built.stderr
        objects.append(obj)
    engine = tmp_path / "engine.o"  # one relocatable object: what a firmware links
    subprocess.run([gcc, "-r", "-nostdlib", *map(str, objects), "-o", str(engine)], check=True)
    symbols = subprocess.run([nm, "--undefined-only", "--format=posix", str(engine)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    undefined = {line.split()[0] for line in symbols.splitlines()}
    assert {"memcpy", "memset"} <= undefined <= ENGINE_IMPORTS


def test_cmake_builds_the_native_target(tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None or (shutil.which("gcc") or shutil.which("cc")) is None:
        pytest.skip("cmake or a host C compiler is missing")
    build = tmp_path / "build"
    configure = subprocess.run([cmake, "-S", str(FIRMWARE), "-B", str(build)],
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compiled = subprocess.run([cmake, "--build", str(build), "--target", "tinynas-native"],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    answer = subprocess.run([str(build / "tinynas-native")], input=b"name%sync ok%",
                            capture_output=True, timeout=10)  # fmt: skip
    assert answer.stdout.split(b"\r\n")[:4] == [b"m-name-dut-[native-fake]", b"m-ready",
                                                 b"m-sync-[ok]", b"m-ready"]  # fmt: skip


def _catalogue_as_cmake_reads_it(board: str) -> dict[str, str]:
    script = FIRMWARE / "cmake" / "catalogue.cmake"
    command = ["cmake", f"-DBOARD={board}", f"-DDEVICES_DIR={REPO / 'devices'}", "-P", str(script)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stderr.splitlines() if "=" in line)


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
@pytest.mark.parametrize("board", BOARDS)
def test_firmware_build_reads_the_catalogue_as_the_host_does(board: str) -> None:
    device = get_device(board)
    values = _catalogue_as_cmake_reads_it(board)
    slot_bytes = device.flash_budget_bytes - 4 if device.model_slot_address else 0
    assert values["TN_CORE"] == device.core
    assert [int(values[k]) for k in ("TN_CLOCK_HZ", "TN_SERIAL_BAUD", "TN_MODEL_SLOT_ADDRESS",
                                     "TN_POOL_BYTES", "TN_SLOT_BYTES")] == [
        device.clock_hz, device.serial_baud, device.model_slot_address,
        device.ram_budget_bytes, slot_bytes]  # fmt: skip


@pytest.mark.parametrize("board", PORTS)
def test_each_port_matches_its_catalogue_entry(board: str) -> None:
    device = get_device(board)
    port = (FIRMWARE / "boards" / f"{board}.cmake").read_text()
    source = re.search(r"TN_BOARD_SOURCE ([^)\s]+)", port)
    assert source is not None and (FIRMWARE / source.group(1)).is_file()
    clock = re.search(r"#if TN_CLOCK_HZ != (\d+)", (FIRMWARE / source.group(1)).read_text())
    assert clock is not None and int(clock.group(1)) == device.clock_hz
    assert device.model_slot_address == 0x08000000 + device.firmware_reserve_bytes


def test_firmware_configure_refuses_a_board_without_a_port(tmp_path: Path) -> None:
    if shutil.which("cmake") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("cmake or arm-none-eabi-gcc is not installed")
    result = subprocess.run(["cmake", "-S", str(FIRMWARE), "-B", str(tmp_path / "build"),
                             "-DBOARD=esp32-s3-devkitc"], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "no firmware port for board 'esp32-s3-devkitc'" in output
    assert all(port in output for port in PORTS)
