"""The profiler contract suite against the Python emulated board, over a pty and over TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tinynas.devices import get_device
from tinynas.profile import EmulatedBoard, Faults
from tinynas.testing.profiler import ProfilerTestCase


class TestEmulatedBoard(ProfilerTestCase):
    upload_idle_s = 0.5

    @pytest.fixture(params=["pty", "tcp"])
    def board_url(self, request: pytest.FixtureRequest) -> Iterator[str]:
        board = EmulatedBoard(get_device("nucleo-l4r5zi"), faults=Faults(),
                              upload_idle_s=self.upload_idle_s)  # fmt: skip
        yield board.start_pty() if request.param == "pty" else board.start_tcp()
        board.stop()
