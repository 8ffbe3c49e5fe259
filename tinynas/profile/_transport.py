"""A serial line to a board over pyserial: bounded reads of reply lines, and raw writes.

The port is anything ``serial.serial_for_url`` opens: a real port (``/dev/ttyACM0``), a
pseudo-terminal (the emulated board's ``/dev/pts/N``) or ``socket://HOST:PORT``. Every read
has a deadline; a missed one raises :class:`DeviceTimeoutError`, and a port that goes away
raises :class:`ProfilerError`: nothing here waits without bound. pyserial's exceptions are
translated here and nowhere else.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from tinynas.errors import DeviceTimeoutError, ProfilerError
from tinynas.profile._protocol import LINE_MAX_BYTES

if TYPE_CHECKING:
    from typing import Self

    import serial

POLL_S = 0.02  # longest single blocking read; deadlines are checked between reads
DEFAULT_WRITE_TIMEOUT_S = 10.0  # plus the bytes' own time on the wire at the line rate
BITS_PER_BYTE = 10  # 8N1: a start bit, 8 data bits, a stop bit


def _io_errors() -> tuple[type[Exception], ...]:
    """What pyserial raises when a port goes away (termios.error comes from tcdrain)."""
    import serial

    errors: list[type[Exception]] = [serial.SerialException, OSError]
    try:
        import termios

        errors.append(termios.error)
    except ImportError:  # not a POSIX system
        pass
    return tuple(errors)


class SerialTransport:
    """Reply lines from, and bytes to, one open serial port (injected, as miniterm does).

    Args:
        port: An open pyserial port whose ``timeout`` is short (:data:`POLL_S`).
        name: The port's name or URL, for messages.
        baud: The line rate, used to size timeouts (a pty ignores it).
    """

    def __init__(self, port: serial.SerialBase, name: str, baud: int) -> None:
        self.port = port
        self.name = name
        self.baud = baud
        self._buffer = bytearray()
        self.noise_lines = 0  # lines discarded as garbage (too long)
        base = getattr(port, "write_timeout", None)
        self.write_timeout_s = DEFAULT_WRITE_TIMEOUT_S if base is None else float(base)

    def wire_seconds(self, size_bytes: int) -> float:
        """Time ``size_bytes`` take on the line at :attr:`baud` (8N1, 10 bits per byte)."""
        return size_bytes * BITS_PER_BYTE / self.baud

    def longest_line_seconds(self) -> float:
        """Time of the longest reply line the protocol allows (``LINE_MAX_BYTES`` and its
        ``\r\n``) at the line rate: 0.18 s at 115200 baud, 17 s at 1200."""
        return self.wire_seconds(LINE_MAX_BYTES + 2)

    @classmethod
    def open(cls, url: str, baud: int, write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S
             ) -> SerialTransport:  # fmt: skip
        """Open ``url`` (a port path or a pyserial URL) at ``baud``.

        Raises:
            ProfilerError: The port does not exist, is busy, or refuses the connection.
        """
        import serial

        try:
            port = serial.serial_for_url(
                url, baudrate=baud, timeout=POLL_S, write_timeout=write_timeout_s
            )
        except (serial.SerialException, OSError, ValueError) as e:
            raise ProfilerError(
                f"cannot open serial port '{url}': {e}; run 'tinynas ports' to list attached "
                "boards, or start one with 'tinynas emulate DEVICE'"
            ) from e
        return cls(port, url, baud)

    def close(self) -> None:
        """Close the port; closing twice is harmless."""
        with contextlib.suppress(*_io_errors()):  # a port whose other end vanished is gone anyway
            self.port.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes, what: str) -> None:
        """Send ``data``; ``what`` names the exchange in error messages.

        Raises:
            DeviceTimeoutError: The port did not take the bytes within its write timeout.
            ProfilerError: The port went away.
        """
        import serial

        try:
            timeout_s = self.write_timeout_s + self.wire_seconds(len(data))
            if self.port.write_timeout != timeout_s:  # a frame at a low baud takes a while
                self.port.write_timeout = timeout_s
            self.port.write(data)
            self.port.flush()
        except serial.SerialTimeoutException as e:
            raise DeviceTimeoutError(
                f"{what}: the board on {self.name} did not take {len(data)} bytes within "
                f"{self.port.write_timeout:.1f} s; is it still running?"
            ) from e
        except _io_errors() as e:
            raise self._lost(what, e) from e

    def read_line(self, timeout_s: float, what: str) -> str:
        """The next line (without its terminator), waiting at most ``timeout_s``.

        Raises:
            DeviceTimeoutError: No complete line within ``timeout_s``.
            ProfilerError: The port went away.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._pop_line()
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                raise self._timeout(what, timeout_s)
            self._fill()

    def flush_input(self) -> None:
        """Drop everything received and not yet read."""
        self._buffer.clear()
        try:
            self.port.reset_input_buffer()
        except _io_errors() as e:
            raise self._lost("flushing input", e) from e

    def _fill(self) -> None:
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except _io_errors() as e:
            raise self._lost("reading", e) from e
        self._buffer += data

    def _pop_line(self) -> str | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > LINE_MAX_BYTES:  # garbage without line ends: drop it
                self._buffer.clear()
                self.noise_lines += 1
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return raw.decode("ascii", errors="replace").strip("\r\0")

    def _timeout(self, what: str, timeout_s: float) -> DeviceTimeoutError:
        partial = bytes(self._buffer[:60]).decode("ascii", errors="replace")
        got = f"; received only {partial!r}" if partial else "; received nothing"
        return DeviceTimeoutError(
            f"{what}: no reply from the board on {self.name} within {timeout_s:.1f} s{got}; "
            "check that the profiler firmware runs and the baud rate matches"
        )

    def _lost(self, what: str, e: Exception) -> ProfilerError:
        return ProfilerError(
            f"lost the connection to the board on {self.name} ({what}): {e}; check the "
            "cable, or that the emulated board still runs"
        )
