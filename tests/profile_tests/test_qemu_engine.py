"""The firmware's protocol engine built for a Cortex-M4 and run on QEMU's mps2-an386, driven by
the host client over QEMU's serial port (a TCP socket): the same contract suite as the native
build, on the instruction set and memory map of a microcontroller.

The runner is the native harness's FAKE runner (not TFLM): outputs are a fixed function of the
input, and each op reports its fixed fake cycles plus the instructions it ran (QEMU with
-icount shift=0 counts instructions, not cycles). Build and run commands:
profilers/firmware/README.md, "On QEMU".
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO_ROOT as REPO
from test_native_engine import (
    DEFAULT_INPUT_BYTES,
    DEFAULT_OP_CYCLES,
    DEFAULT_OUTPUT_BYTES,
    DEFAULT_OVERHEAD_CYCLES,
    FAKE_MODEL,
    as_int8,
    fake_output,
)

from tinynas.profile import BoardError, BoardInfo, ProfilerClient, QemuBoard
from tinynas.profile._protocol import align16, crc_hex, random_input
from tinynas.testing.profiler import ProfilerTestCase, within

FIRMWARE = REPO / "profilers" / "firmware"
SOURCES = [*sorted((FIRMWARE / "engine").glob("*.c")), FIRMWARE / "native" / "fake_runner.c",
           *sorted((FIRMWARE / "platform" / "qemu").glob("*.c"))]  # fmt: skip
CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
C_FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
           "-fdata-sections"]  # fmt: skip
START_S = 10.0

pytestmark = pytest.mark.cli  # starts QEMU processes


@pytest.fixture(scope="session")
def firmware_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine + fake runner + QEMU platform, cross-compiled (warnings are errors)."""
    compiler = shutil.which("arm-none-eabi-gcc")
    if compiler is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc (with newlib) and qemu-system-arm: on Debian, "
                    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm")
    elf = tmp_path_factory.mktemp("qemu") / "tinynas-profiler-qemu.elf"
    command = [compiler, *C_FLAGS, *CPU_FLAGS, f"-I{FIRMWARE / 'engine'}",
               f"-I{FIRMWARE / 'native'}", f"-I{FIRMWARE / 'platform' / 'tflm'}",
               *map(str, SOURCES), "-T",
               str(FIRMWARE / "platform" / "qemu" / "linker.ld"), "-nostartfiles",
               "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections", "-o", str(elf)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stderr
    return elf


class TestQemuEngine(ProfilerTestCase):
    """The profiler contract suite against the engine on an emulated Cortex-M4."""

    upload_idle_s = 5.0  # the protocol's; this build does not change it
    # the fake runner's output is not TFLM's: the two tests that compare with the host's TFLM
    # are replaced by fake-output versions below
    test_upload_infer_matches_host_tflm = None
    test_zeros_and_db_input = None

    @pytest.fixture
    def board_url(self, firmware_elf: Path) -> Iterator[str]:
        board = QemuBoard("mps2-an386", firmware_elf)  # what tinynas emulate --qemu runs
        try:
            yield board.start()
        finally:
            board.stop()

    @pytest.fixture
    def model(self) -> bytes:
        return FAKE_MODEL

    def test_info_says_emulated_instructions(self, board: BoardInfo) -> None:
        assert (board.board, board.core, board.emulated) == ("qemu-mps2-an386", "cortex-m4f",
                                                             True)  # fmt: skip
        assert board.clock_hz == 1_000_000_000 and "instructions" in (board.latency_source or "")
        assert board.counts == "instructions"

    def test_upload_infer_carries_the_fake_output(
        self, client: ProfilerClient, board: BoardInfo, model: bytes
    ) -> None:
        upload = within(self.limit_s, client.upload_model, model)
        assert (upload.model_bytes, upload.crc32) == (len(model), crc_hex(model))
        within(self.limit_s, client.set_input, 7)
        inference = within(self.limit_s, client.infer, 3, 1, board)
        expected = fake_output(random_input(7, DEFAULT_INPUT_BYTES), DEFAULT_OUTPUT_BYTES)
        fixed = sum(DEFAULT_OP_CYCLES) + DEFAULT_OVERHEAD_CYCLES
        # the fixed fake cycles plus the instructions the core ran for them (a few thousand)
        assert all(fixed < cycles < fixed + 100_000 for cycles in inference.run_cycles)
        ops = [s for s in inference.ops if s.run == 2]
        assert all(fake <= s.cycles < fake + 10_000 for s, fake in zip(ops, DEFAULT_OP_CYCLES))
        carried = (as_int8(expected), DEFAULT_OUTPUT_BYTES, crc_hex(expected))
        assert (inference.results, inference.output_bytes, inference.output_crc32) == carried
        assert within(self.limit_s, client.results) == carried

    def test_zeros_and_db_input_reach_the_runner(self, client: ProfilerClient, board: BoardInfo,
                                                 model: bytes) -> None:  # fmt: skip
        within(self.limit_s, client.upload_model, model)
        within(self.limit_s, client.set_input, None)
        zeros = within(self.limit_s, client.infer, 1, 0, board)
        assert zeros.output_crc32 == crc_hex(fake_output(bytes(DEFAULT_INPUT_BYTES),
                                                         DEFAULT_OUTPUT_BYTES))  # fmt: skip
        data = bytes(np.random.default_rng(3).integers(0, 256, DEFAULT_INPUT_BYTES, np.uint8))
        within(self.limit_s, client.load_input, data)
        loaded = within(self.limit_s, client.infer, 1, 0, board)
        assert loaded.output_crc32 == crc_hex(fake_output(data, DEFAULT_OUTPUT_BYTES))


def test_tinynas_emulate_serves_the_firmware_on_qemu(firmware_elf: Path) -> None:
    import signal

    from helpers import cli_env, tinynas_argv

    from tinynas.profile import SerialTransport

    proc = subprocess.Popen(tinynas_argv("emulate", "mps2-an386", "--qemu", firmware_elf,
                                         "--tcp", "0"), cwd=REPO, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = within(START_S + 20, proc.stdout.readline)
        assert "counts instructions, not cycles" in line, line
        url = next(word for word in line.split() if word.startswith("socket://"))
        transport = SerialTransport.open(url, 115200)
        try:
            client = ProfilerClient(transport)
            within(10, client.sync)
            assert within(10, client.info).board == "qemu-mps2-an386"
        finally:
            transport.close()
        # tinynas profile labels what the firmware counts: instructions, not cycles or ms
        from helpers import run_cli

        from tinynas.testing.profiler import reference_model

        model = firmware_elf.parent / "model.tflite"
        model.write_bytes(reference_model())
        shown = run_cli("profile", model, "--port", url, "--runs", "2", cwd=REPO)
        assert "differs" in shown.stderr  # the fake runner's output is not TFLM's
        assert "instructions (median)" in shown.stdout and "per-op instructions" in shown.stdout
        assert "latency (median)" not in shown.stdout and "per-op cycles" not in shown.stdout
        # SIGTERM, as a service manager stops it (a test run in the background may have
        # SIGINT ignored, which its children inherit)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit()
                and str(firmware_elf).encode() in _cmdline(p)]  # QEMU stopped with it


def test_a_killed_emulate_takes_qemu_with_it(firmware_elf: Path, tmp_path: Path) -> None:
    import signal

    from helpers import cli_env, tinynas_argv

    elf = tmp_path / "killed.elf"  # a name no other test's QEMU runs
    elf.write_bytes(firmware_elf.read_bytes())
    proc = subprocess.Popen(tinynas_argv("emulate", "mps2-an386", "--qemu", elf, "--tcp", "0"),
                            cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "socket://" in within(START_S + 20, proc.stdout.readline)
        assert _running(elf)
        proc.send_signal(signal.SIGKILL)  # no clean-up code runs
        proc.wait(timeout=20)
        deadline = time.monotonic() + 20
        while _running(elf) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(elf)
    finally:
        proc.kill()


def _running(elf: Path) -> bool:
    return any(p.name.isdigit() and str(elf).encode() in _cmdline(p)
               for p in Path("/proc").iterdir())  # fmt: skip


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize(("args", "fragment"), [
    (("mps2-an386", "--qemu", "missing.elf"), "firmware 'missing.elf' not found"),
    (("mps2-an386", "--qemu", "README.md"), "is not an ELF file"),
    (("stm32", "--qemu", "README.md"), "QEMU machine 'stm32' is not one tinynas runs"),
    (("mps2-an386", "--qemu", "x.elf", "--pty"), "--pty does not apply to --qemu"),
])  # fmt: skip
def test_emulate_qemu_bad_input_is_one_line(args: tuple[str, ...], fragment: str) -> None:
    from helpers import run_cli

    from tinynas.testing.cli import assert_one_line_error

    line = assert_one_line_error(run_cli("emulate", *args, cwd=REPO), empty_stdout=True)
    assert fragment in line


# ---- the real firmware: TFLM + CMSIS-NN on QEMU ------------------------------------------------
# Its build fetches TFLM and CMSIS-NN (or takes local copies): profilers/firmware/README.md,
# "On QEMU". CI has no network, so these tests run where TINYNAS_QEMU_FIRMWARE names the
# built ELF and skip elsewhere; TINYNAS_QEMU_MACHINE names the machine it was built for
# (QEMU_MACHINE: mps2-an386, the default, or mps2-an500).
TFLM_FIRMWARE_VARIABLE = "TINYNAS_QEMU_FIRMWARE"
TFLM_MACHINE_VARIABLE = "TINYNAS_QEMU_MACHINE"


def _tflm_machine() -> str:
    import os

    return os.environ.get(TFLM_MACHINE_VARIABLE, "mps2-an386")


@pytest.fixture(scope="session")
def tflm_firmware_elf() -> Path:
    import os

    named = os.environ.get(TFLM_FIRMWARE_VARIABLE)
    if not named:
        pytest.skip(f"set {TFLM_FIRMWARE_VARIABLE} to a TFLM firmware built with "
                    "-DQEMU_MACHINE=mps2-an386 (profilers/firmware/README.md)")
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("needs qemu-system-arm: apt-get install qemu-system-arm")
    path = Path(named)
    assert path.is_file(), f"{TFLM_FIRMWARE_VARIABLE}={named}: no such file"
    return path


class TestQemuTflmFirmware(ProfilerTestCase):
    """The whole contract suite, host-TFLM output checks included, against the real firmware:
    TFLM + CMSIS-NN cross-compiled for a Cortex-M4 and run by QEMU."""

    upload_idle_s = 5.0
    timeouts = ProfilerTestCase.timeouts
    limit_s = 60.0  # QEMU's serial line carries about 16 KB/s

    @pytest.fixture
    def board_url(self, tflm_firmware_elf: Path) -> Iterator[str]:
        board = QemuBoard(_tflm_machine(), tflm_firmware_elf)
        try:
            yield board.start()
        finally:
            board.stop()

    def test_info_names_tflm_and_cmsis_nn(self, board: BoardInfo) -> None:
        from tinynas.profile._qemu import MACHINES

        machine = _tflm_machine()
        assert (board.board, board.core, board.emulated) == (f"qemu-{machine}",
                                                             MACHINES[machine], True)
        assert board.runtime.startswith("tflm ") and board.kernels.startswith("cmsis-nn ")
        assert board.clock_hz == 1_000_000_000 and "instructions" in (board.latency_source or "")
        assert board.counts == "instructions"

    def test_counts_are_instructions_of_real_kernels(self, client: ProfilerClient,
                                                     board: BoardInfo, model: bytes) -> None:
        within(self.limit_s, client.upload_model, model)
        within(self.limit_s, client.set_input, 1)
        inference = within(self.limit_s, client.infer, 2, 0, board)
        runs = [[s.cycles for s in inference.ops if s.run == r] for r in (0, 1)]
        # -icount makes the count deterministic up to SysTick's 40-instruction steps and
        # the interrupts that land in a run (tens of instructions each)
        assert all(abs(a - b) <= 400 for a, b in zip(runs[0], runs[1], strict=True))
        assert all(sum(run) <= cycles for run, cycles in zip(runs, inference.run_cycles,
                                                              strict=True))  # fmt: skip

    def test_arena_too_large(self, client: ProfilerClient, board: BoardInfo) -> None:
        # the suite's version pads a model to the whole pool (3 MiB here: over three minutes on
        # QEMU's serial line); a small model whose activations outgrow the pool says the same
        from tinynas.convert import convert_architecture
        from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling

        shape = (448, 448, 3)  # a 3x3 conv to 16 channels: 3.1 MiB of output, then shrinking
        blocks = (ConvBlock((ConvLayer("conv2d", 3, 16, 1),)),
                  *(ConvBlock((ConvLayer("conv2d", 3, 4, 2),)) for _ in range(4)))
        arch = Architecture(shape, 4, blocks, Pooling("avg", 4), (8,))
        samples = np.random.default_rng(0).random((2, *shape), np.float32)
        model = convert_architecture(arch, samples, check_inputs=1).tflite
        with pytest.raises(BoardError) as caught:
            within(self.limit_s, client.upload_model, model)
        assert caught.value.code == "arena-too-large"
        available = board.pool_bytes - align16(len(model))
        assert f"{available} available" in caught.value.detail
