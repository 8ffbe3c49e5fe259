"""A profiler firmware running on QEMU: the Cortex-M board emulators of ``qemu-system-arm``
with the firmware's UART0 on a local TCP port (``socket://127.0.0.1:PORT``), which
``tinynas profile --port`` opens like a board's serial port.

QEMU runs with ``-icount shift=0,sleep=on``: every instruction takes 1 ns of virtual time, so a
firmware's time-based counter counts instructions, not cycles (the firmware says so in its
``info%``), and while the core sleeps virtual time follows real time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tinynas.errors import ProfilerError
from tinynas.processes import die_with_parent

# QEMU machine -> the core it emulates (qemu-system-arm -machine help)
MACHINES = {"mps2-an386": "cortex-m4f", "mps2-an500": "cortex-m7", "netduinoplus2": "cortex-m4f"}
INSTALL = "apt-get install qemu-system-arm (Debian, Ubuntu)"
START_S = 10.0
_ELF_MAGIC = b"\x7fELF"
_EM_ARM = 40


class QemuBoard:
    """QEMU running `firmware` on `machine`, serving its first UART on 127.0.0.1:`port` (0:
    a free port). Use :meth:`start`, then :attr:`url`; :meth:`stop` ends QEMU."""

    def __init__(self, machine: str, firmware: Path, port: int = 0) -> None:
        if machine not in MACHINES:
            raise ProfilerError(f"QEMU machine '{machine}' is not one tinynas runs firmware on; "
                                f"give one of {', '.join(MACHINES)}")  # fmt: skip
        _check_elf(firmware)
        self.binary = shutil.which("qemu-system-arm")
        if self.binary is None:
            raise ProfilerError(f"--qemu needs qemu-system-arm, which is not installed: {INSTALL}")
        self.machine, self.firmware, self.port = machine, firmware, port or _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        serial = f"tcp:127.0.0.1:{self.port},server=on,wait=off"
        return [str(self.binary), "-M", self.machine, "-nographic", "-monitor", "none",
                "-icount", "shift=0,sleep=on", "-serial", serial, "-kernel", str(self.firmware)]

    def start(self) -> str:
        """Starts QEMU and returns the URL once it listens.

        Raises:
            ProfilerError: QEMU exited, or did not listen within START_S seconds.
        """
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      preexec_fn=die_with_parent)  # fmt: skip
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                said = (self._proc.stderr.read() if self._proc.stderr else b"").decode(
                    errors="replace").strip().splitlines()
                raise ProfilerError(f"QEMU stopped at once (exit {self._proc.returncode}): "
                                    f"{said[-1] if said else 'no message'}")  # fmt: skip
            if _port_taken(self.port):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ProfilerError(f"QEMU did not open 127.0.0.1:{self.port} within {START_S:g} s")

    def wait(self) -> int:
        """Blocks until QEMU exits; its exit status."""
        return self._proc.wait() if self._proc is not None else 0

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)


def _check_elf(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except FileNotFoundError:
        raise ProfilerError(f"firmware '{path}' not found; build it first (see "
                            "profilers/firmware/README.md, 'On QEMU')") from None
    except OSError as e:
        raise ProfilerError(f"cannot read firmware '{path}': {e.strerror or e}") from e
    if head[:4] != _ELF_MAGIC or len(head) < 20:
        raise ProfilerError(f"firmware '{path}' is not an ELF file; give the .elf the firmware "
                            "build wrote")  # fmt: skip
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    if machine != _EM_ARM:
        raise ProfilerError(f"firmware '{path}' is an ELF for machine {machine}, not ARM (40); "
                            "give a Cortex-M build")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
