"""The emulated board: the board side of PROTOCOL.md on a pty or a TCP port.

:class:`EmulatedBoard` reads commands from its wire, answers them through a
:class:`~tinynas.profile._engine.BoardEngine`, receives uploads frame by frame, and injects the
faults of PROTOCOL.md section 9 when asked. ``start_pty()`` / ``start_tcp()`` serve from a
background thread (for tests and ``tinynas profile --emulate``); ``serve_forever()`` serves in
the calling thread (``tinynas emulate``).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinynas.devices import Device
from tinynas.errors import ProfilerError
from tinynas.profile._engine import BoardEngine, BoardFault
from tinynas.profile._protocol import (
    ABORT_SEQ,
    COMMAND_MAX_BYTES,
    FRAME_GAP_S,
    HEADER,
    NAK_IDLE_S,
    SYNC,
    TRAILER,
    UPLOAD_IDLE_S,
    crc_hex,
    format_line,
    frame_crc_ok,
)
from tinynas.profile._wire import BaseWire, Hangup, PacedWire, PtyWire, TcpWire

if TYPE_CHECKING:
    from typing import Self

FAULTS_ENV = "TINYNAS_EMULATOR_FAULTS"
_POLL_S = 0.05
_COUNT_FAULTS = ("drop", "corrupt", "garbage", "noack")
_WHERE_FAULTS = ("stall", "disconnect")


@dataclass(frozen=True)
class Faults:
    """Faults to inject (PROTOCOL.md section 9); counts are of upload frames or reply lines."""

    drop: int = 0
    corrupt: int = 0
    garbage: int = 0
    noack: int = 0
    stall: str | None = None  # "upload" or a command name
    disconnect: str | None = None

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> Faults:
        """Faults from ``KIND:VALUE`` specs.

        Raises:
            ProfilerError: An unknown kind or a malformed value.
        """
        values: dict[str, int | str] = {}
        for spec in specs:
            kind, _, value = spec.strip().partition(":")
            if kind in _COUNT_FAULTS and value.isdigit():
                values[kind] = int(value)
            elif kind in _WHERE_FAULTS and re.fullmatch(r"[a-z]+", value):
                values[kind] = value
            else:
                raise ProfilerError(
                    f"bad emulator fault '{spec}'; use drop:N, corrupt:N, garbage:N, noack:N, "
                    "stall:WHAT or disconnect:WHAT (WHAT = upload or a command name)"
                )
        return cls(**values)  # type: ignore[arg-type]

    @staticmethod
    def env_specs() -> list[str]:
        """The specs listed (comma-separated) in ``$TINYNAS_EMULATOR_FAULTS``."""
        return [s for s in os.environ.get(FAULTS_ENV, "").split(",") if s.strip()]

    @classmethod
    def from_env(cls) -> Faults:
        """Faults listed in ``$TINYNAS_EMULATOR_FAULTS``."""
        return cls.parse(cls.env_specs())


class _Stop(Exception):
    """Serving ends: stop() was called, or a fault hung up or stalled the board."""


class _Nak(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmulatedBoard:
    """An emulated ``device`` speaking the profiler protocol.

    Args:
        device: The catalogue board to emulate (budgets, clock, latency model).
        seed: Seeds cycle jitter, the cycle counter's start and garbage lines.
        jitter: Relative standard deviation of each op's cycles.
        baud: Pace bytes at this rate like a UART; None for pty speed.
        chunk_bytes: Largest upload frame payload it accepts.
        faults: Faults to inject; None reads ``$TINYNAS_EMULATOR_FAULTS``.
        slot_image: Content of its flash model slot, if any.
        upload_idle_s: Silence after which it abandons an upload.
        mlperf: Behave as MLPerf Tiny runner firmware with ``slot_image``'s model compiled in
            (EEMBC commands only).
    """

    def __init__(self, device: Device, *, seed: int = 1, jitter: float = 0.005,
                 baud: int | None = None, chunk_bytes: int = 4096, faults: Faults | None = None,
                 slot_image: bytes | None = None, upload_idle_s: float = UPLOAD_IDLE_S,
                 mlperf: bool = False) -> None:  # fmt: skip
        try:
            self.engine = BoardEngine(device, seed, jitter, slot_image, chunk_bytes, mlperf)
        except BoardFault as e:
            raise ProfilerError(f"cannot emulate {device.name}: {e.detail}; give it a model "
                                "(--slot-model)") from e  # fmt: skip
        self.device = device
        self.baud = baud
        self.faults = faults if faults is not None else Faults.from_env()
        self.upload_idle_s = upload_idle_s
        self._rng = random.Random(seed)
        self._frames_seen = 0
        self._acks_seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wire: BaseWire | None = None
        self._rx = bytearray()

    # ---- lifecycle ------------------------------------------------------------------------

    def open_pty(self) -> str:
        """Create its pseudo-terminal; returns the path a host opens."""
        return self._attach(PtyWire())

    def open_tcp(self, port: int = 0) -> str:
        """Listen on 127.0.0.1:``port`` (0: any free port); returns the ``socket://`` URL."""
        return self._attach(TcpWire(port))

    def _attach(self, wire: BaseWire) -> str:
        self._wire = PacedWire(wire, self.baud) if self.baud else wire
        return wire.url

    def start_pty(self) -> str:
        """Serve on a new pty from a background thread; returns the port path."""
        url = self.open_pty()
        self._start_thread()
        return url

    def start_tcp(self, port: int = 0) -> str:
        """Serve on TCP from a background thread; returns the ``socket://`` URL."""
        url = self.open_tcp(port)
        self._start_thread()
        return url

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name=f"emulated-{self.device.name}")  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the port."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if self._wire is not None:
            self._wire.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Answer commands until stop(), a disconnect fault, or the wire closing."""
        if self._wire is None:
            raise ProfilerError("the emulated board has no port: call open_pty() or open_tcp()")
        try:
            while True:
                self._dispatch(self._next_command())
        except (_Stop, Hangup):
            pass

    # ---- command mode ---------------------------------------------------------------------

    def _fill(self, timeout_s: float) -> bool:
        """Read what arrives within ``timeout_s`` into the receive buffer; False if nothing."""
        if self._stop.is_set():
            raise _Stop()
        assert self._wire is not None
        data = self._wire.read(timeout_s)
        self._rx += data
        return bool(data)

    def _next_command(self) -> str | None:
        """The next command's text; None for one longer than the protocol allows."""
        too_long = False
        while True:
            end = self._rx.find(b"%")
            if end >= 0:
                raw = bytes(self._rx[:end])
                del self._rx[: end + 1]
                if too_long or len(raw) + 1 > COMMAND_MAX_BYTES:
                    return None
                return raw.decode("latin-1").translate({13: None, 10: None, 0: None}).strip()
            if len(self._rx) >= COMMAND_MAX_BYTES:
                too_long = True
                self._rx.clear()
            self._fill(_POLL_S)

    def _dispatch(self, text: str | None) -> None:
        if text is None:
            self._finish(BoardFault("command-too-long", f"over {COMMAND_MAX_BYTES} bytes"))
            return
        word = text.split(" ")[0]
        self._fault_point(word)
        words = text.split()
        try:
            if word == "model" and words[1:] != ["slot"] and self.engine.knows("model"):
                self._upload(words[1:])
            else:
                for line in self.engine.handle(text):
                    self._emit(line)
        except BoardFault as fault:
            self._finish(fault)
            return
        self._finish(None)

    def _finish(self, fault: BoardFault | None) -> None:
        if fault is not None:
            self._emit(fault.line)
        self._emit(format_line("ready"))

    def _emit(self, line: str) -> None:
        assert self._wire is not None
        noise = [self._noise() for _ in range(self.faults.garbage)]
        self._wire.write("".join(f"{n}\r\n" for n in noise).encode("latin-1") +
                         line.encode("ascii", errors="replace") + b"\r\n")  # fmt: skip

    def _noise(self) -> str:
        chars = "".join(chr(self._rng.randrange(33, 127)) for _ in range(self._rng.randrange(40)))
        return "#" + chars + "\x07\x1b[0m"

    def _fault_point(self, where: str) -> None:
        """Stall or hang up here if a fault says so."""
        if self.faults.disconnect == where:
            assert self._wire is not None
            self._wire.close()
            raise _Stop()
        if self.faults.stall == where:
            while True:  # read and ignore everything until stop()
                self._fill(_POLL_S)
                self._rx.clear()

    # ---- upload mode ----------------------------------------------------------------------

    def _upload(self, args: list[str]) -> None:
        size, crc = self.engine.begin_upload(args)
        self._emit(format_line("expect", size, self.engine.chunk_bytes))
        data = self._receive(size)
        if crc_hex(data) != crc:
            raise BoardFault("crc-mismatch", f"model crc32 {crc_hex(data)}, expected {crc}")
        self._emit(self.engine.load(data, "ram"))

    def _receive(self, size: int) -> bytes:
        """The model's bytes, frame by frame; raises BoardFault for abort or idle."""
        data = bytearray()
        seq = 0
        while len(data) < size:
            try:
                got, payload = self._frame(seq, size - len(data))
            except _Nak as nak:
                self._drain()
                self._emit(format_line("nak", seq, nak.reason))
                continue
            if got == seq:
                data += payload
                seq += 1
            self._ack(got)
            if seq == 1:
                self._fault_point("upload")
        return bytes(data)

    def _ack(self, seq: int) -> None:
        self._acks_seen += 1
        if self._acks_seen > self.faults.noack:
            self._emit(format_line("ack", seq))

    def _frame(self, expected: int, left: int) -> tuple[int, bytes]:
        """One good frame: (seq, payload). seq is ``expected`` or a repeat of the one before."""
        self._hunt_sync()
        seq, size = HEADER.unpack(self._read(HEADER.size))[1:]
        if seq == ABORT_SEQ and size == 0:
            if frame_crc_ok(seq, b"", TRAILER.unpack(self._read(TRAILER.size))[0]):
                raise BoardFault("upload-aborted", "the host sent the abort frame")
            raise _Nak("crc")
        if size == 0 or size > self.engine.chunk_bytes or (seq == expected and size > left):
            raise _Nak("length")
        body = self._frame_body(size)
        payload, crc = body[:size], TRAILER.unpack(body[size:])[0]
        if not frame_crc_ok(seq, payload, crc):
            raise _Nak("crc")
        if seq not in (expected, expected - 1):
            raise _Nak("sequence")
        return seq, payload

    def _frame_body(self, size: int) -> bytes:
        """Payload and CRC of a frame, with the drop and corrupt faults applied."""
        self._frames_seen += 1
        if self._frames_seen <= self.faults.drop:
            self._read(1)  # this byte is lost on the line
        body = bytearray(self._read(size + TRAILER.size))
        if self._frames_seen <= self.faults.corrupt:
            body[size // 2] ^= 0x10
        return bytes(body)

    def _hunt_sync(self) -> None:
        """Discard bytes up to a sync pair; leaves upload mode after ``upload_idle_s``."""
        idle_since = time.monotonic()
        while True:
            at = self._rx.find(SYNC)
            if at >= 0:
                del self._rx[:at]
                return
            del self._rx[: max(0, len(self._rx) - 1)]  # keep a possible first sync byte
            if self._fill(_POLL_S):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.upload_idle_s:
                raise BoardFault("upload-timeout", f"no byte for {self.upload_idle_s:.0f} s")

    def _read(self, count: int) -> bytes:
        """``count`` bytes, or a timeout NAK when the line falls silent mid-frame."""
        while len(self._rx) < count:
            if not self._fill(FRAME_GAP_S):
                raise _Nak("timeout")
        out = bytes(self._rx[:count])
        del self._rx[:count]
        return out

    def _drain(self) -> None:
        """Discard input until the line has been idle for the protocol's NAK gap."""
        self._rx.clear()
        while self._fill(NAK_IDLE_S):
            self._rx.clear()


def spawn_emulator(device: str, *args: str, timeout_s: float = 30.0
                   ) -> tuple[subprocess.Popen[str], str]:  # fmt: skip
    """Run ``tinynas emulate DEVICE ARGS`` as a child process; returns it and its port URL.

    Raises:
        ProfilerError: The emulator exited or printed no port within ``timeout_s``.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinynas", "emulate", device, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = _first_line(proc, timeout_s)
    match = re.search(r" on (\S+)", line)
    if not match:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise ProfilerError(f"the emulated board did not start: {line.strip() or err.strip()}")
    return proc, match.group(1)


def _first_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    result: list[str] = []
    stdout = proc.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not result:
        proc.kill()
        raise ProfilerError(f"the emulated board printed no port within {timeout_s:.0f} s")
    return result[0]
