"""Waits that grow with the line rate: at a low baud a reply line takes longer on the wire than
the fixed reply timeout, so the host adds the time of the longest reply line (2048 bytes, 10
bits per byte at 8N1) to every line's wait, and each write's timeout grows with its bytes."""

from __future__ import annotations

from typing import Any

import pytest

from tinynas.devices import get_device
from tinynas.profile import EmulatedBoard, Faults, ProfilerClient, SerialTransport, Timeouts
from tinynas.testing.profiler import within

LOW_BAUD = 1200
SHORT = Timeouts(reply_s=0.05, ack_margin_s=0.3, infer_line_s=0.05)  # below one line's time


def test_replies_at_1200_baud_arrive_within_the_wait() -> None:
    board = EmulatedBoard(get_device("nucleo-l4r5zi"), baud=LOW_BAUD, faults=Faults())
    url = board.start_pty()
    try:
        with SerialTransport.open(url, LOW_BAUD) as transport:
            client = ProfilerClient(transport, SHORT)
            # m-name-[nucleo-l4r5zi] takes 0.2 s on the wire at 1200 baud: four times the
            # 0.05 s reply timeout, which alone would time out
            assert client.line_timeout_s() == pytest.approx(0.05 + 2050 * 10 / LOW_BAUD)
            within(30, client.sync)
            assert within(30, client.name) == "nucleo-l4r5zi"
    finally:
        board.stop()


class _Port:
    """A port that records the write timeout each write was given."""

    def __init__(self) -> None:
        self.write_timeout: float | None = 10.0
        self.timeouts: list[float | None] = []

    def write(self, data: bytes) -> int:
        self.timeouts.append(self.write_timeout)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("baud", "longest_s"), [(115_200, 0.178), (1200, 17.08), (300, 68.3)])
def test_the_waits_grow_with_the_line_rate(baud: int, longest_s: float) -> None:
    port: Any = _Port()
    transport = SerialTransport(port, "fake", baud)
    assert transport.longest_line_seconds() == pytest.approx(longest_s, rel=1e-3)
    client = ProfilerClient(transport, Timeouts(reply_s=2.0, infer_line_s=60.0))
    assert client.line_timeout_s() == pytest.approx(2.0 + longest_s, rel=1e-3)
    assert client.line_timeout_s(60.0) == pytest.approx(60.0 + longest_s, rel=1e-3)
    transport.write(bytes(4096), "uploading frame 0")  # a frame of 4 KiB at this rate
    assert port.timeouts == [pytest.approx(10.0 + 4096 * 10 / baud)]
