"""The emulated board's end of the serial line: a pseudo-terminal or a TCP socket, optionally
paced at a baud rate like a UART.

A wire reads with a timeout (``b""`` when nothing came) and raises :class:`Hangup` once the
line is gone. The emulator keeps the pty's slave end open itself, so a host may close and
reopen the port between sessions, as with a USB serial adapter that stays plugged in.
"""

from __future__ import annotations

import abc
import errno
import os
import select
import socket
import time
import tty

_READ_BYTES = 65536
_WRITE_STALL_S = 10.0  # a host that reads nothing for this long is treated as gone


class Hangup(Exception):
    """The line is closed (by a fault, by stop(), or by the other side going away)."""


class BaseWire(abc.ABC):
    """A byte stream to the host. ``url`` is what a host gives ``serial_for_url``."""

    url: str

    @abc.abstractmethod
    def read(self, timeout_s: float) -> bytes:
        """Bytes that arrived within ``timeout_s`` (``b""`` if none); raises Hangup."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of ``data``; raises Hangup."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the line; the host sees the port go away."""


class PtyWire(BaseWire):
    """The master end of a fresh pseudo-terminal pair in raw mode; the host opens ``url``."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.url = os.ttyname(self._slave)
        self._closed = False

    def read(self, timeout_s: float) -> bytes:
        if self._closed:
            raise Hangup("the pty is closed")
        ready, _, _ = select.select([self._master], [], [], max(timeout_s, 0.0))
        if not ready:
            return b""
        try:
            return os.read(self._master, _READ_BYTES)
        except BlockingIOError:
            return b""
        except OSError as e:
            raise Hangup(f"pty read failed: {e}") from e

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + _WRITE_STALL_S
        while view:
            if self._closed:
                raise Hangup("the pty is closed")
            _, ready, _ = select.select([], [self._master], [], 0.05)
            if ready:
                view = view[self._write_some(view):]
            elif time.monotonic() > deadline:
                raise Hangup("the host has not read from the pty for 10 s")

    def _write_some(self, view: memoryview) -> int:
        try:
            return os.write(self._master, view)
        except BlockingIOError:
            return 0
        except OSError as e:
            if e.errno == errno.EAGAIN:
                return 0
            raise Hangup(f"pty write failed: {e}") from e

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass


class TcpWire(BaseWire):
    """A TCP listener on 127.0.0.1; one host connection at a time (``socket://`` URLs)."""

    def __init__(self, port: int = 0) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(1)
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._conn: socket.socket | None = None
        self._closed = False

    def read(self, timeout_s: float) -> bytes:
        if self._closed:
            raise Hangup("the socket is closed")
        if self._conn is None:
            self._accept(timeout_s)
            return b""
        ready, _, _ = select.select([self._conn], [], [], max(timeout_s, 0.0))
        if not ready:
            return b""
        try:
            data = self._conn.recv(_READ_BYTES)
        except OSError:
            data = b""
        if not data:  # the host closed its end: wait for the next one
            self._drop_connection()
        return data

    def _accept(self, timeout_s: float) -> None:
        ready, _, _ = select.select([self._server], [], [], max(timeout_s, 0.0))
        if ready:
            self._conn, _ = self._server.accept()
            self._conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, data: bytes) -> None:
        if self._closed:
            raise Hangup("the socket is closed")
        if self._conn is None:
            return  # nobody listening: like a UART with no cable
        try:
            self._conn.sendall(data)
        except OSError:
            self._drop_connection()

    def close(self) -> None:
        self._closed = True
        self._drop_connection()
        self._server.close()


class PacedWire(BaseWire):
    """``inner`` slowed to ``baud`` (10 bits per byte) in each direction, like a UART.

    A received block is handed on only once its last byte would have arrived on the wire; a
    write returns once its last byte would have left.
    """

    def __init__(self, inner: BaseWire, baud: int) -> None:
        self.inner = inner
        self.url = inner.url
        self.byte_s = 10.0 / baud
        self._rx_free = 0.0  # when the receive line is idle again
        self._tx_free = 0.0

    def read(self, timeout_s: float) -> bytes:
        data = self.inner.read(timeout_s)
        if data:
            self._rx_free = _sleep_until(max(self._rx_free, time.monotonic()) +
                                         len(data) * self.byte_s)  # fmt: skip
        return data

    def write(self, data: bytes) -> None:
        self._tx_free = _sleep_until(max(self._tx_free, time.monotonic()) +
                                     len(data) * self.byte_s)  # fmt: skip
        self.inner.write(data)

    def close(self) -> None:
        self.inner.close()


def _sleep_until(when: float) -> float:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return when
