"""Contract tests for a board side of the profiler protocol (``profilers/PROTOCOL.md``).

Subclass :class:`ProfilerTestCase` and override its ``board_url`` fixture to start a fresh
board (no model loaded, nothing in its flash slot) and yield the serial URL a host opens: a pty
path or ``socket://HOST:PORT``. The Python emulated board is one parametrisation
(``tests/profile_tests/test_contract.py``); a natively compiled firmware engine is another::

    class TestNativeEngine(ProfilerTestCase):
        upload_idle_s = 5.0

        @pytest.fixture
        def board_url(self) -> Iterator[str]:
            proc = subprocess.Popen(["build/engine", "--pty"], stdout=subprocess.PIPE, text=True)
            yield proc.stdout.readline().split()[-1]
            proc.terminate()

Every test runs inside :func:`within`, so a board that stops answering fails the test in
bounded time instead of hanging the suite.
"""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from tinynas.profile import (
    UPLOAD_IDLE_S,
    BoardError,
    BoardInfo,
    ProfilerClient,
    SerialTransport,
    Timeouts,
    abort_frame,
    align16,
    crc_hex,
    encode_frame,
    parse_line,
    random_input,
)

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "mlperf-tiny"
REFERENCE_MODEL = FIXTURES / "kws_ref_model.tflite"


def within(seconds: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; fails the test if it runs over ``seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {seconds} s: a hang")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@functools.lru_cache(maxsize=1)
def reference_model() -> bytes:
    """An int8 model for the tests: MLPerf Tiny's KWS model when the shared fixtures are next
    to the repository, else a small CNN converted by tinynas itself (needs TensorFlow)."""
    if REFERENCE_MODEL.is_file():
        return REFERENCE_MODEL.read_bytes()
    return _converted_model()


def _converted_model() -> bytes:
    from tinynas.convert import convert_architecture
    from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling

    arch = Architecture((16, 16, 1), 4, (ConvBlock((ConvLayer("conv2d", 3, 8, 2),)),
                                         ConvBlock((ConvLayer("dwconv2d", 3, 0, 1),))),
                        Pooling("avg", 2), (16,))  # fmt: skip
    samples = np.random.default_rng(0).random((8, 16, 16, 1), np.float32)
    return convert_architecture(arch, samples).tflite


def input_shape(model: bytes) -> tuple[int, ...]:
    """The input shape of ``model`` (batch included)."""
    from tinynas.tflite_file import read_tflite

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.tflite"
        path.write_bytes(model)
        return read_tflite(path).input_shape


def host_output(model: bytes, data: bytes) -> bytes:
    """The output tensor TFLM on this machine gives for input bytes ``data``."""
    from tinynas.convert import run_tflm

    output = run_tflm(model, np.frombuffer(data, np.int8).reshape(input_shape(model)))
    return np.ascontiguousarray(output, dtype=np.int8).tobytes()


class ProfilerTestCase:
    """The board side of PROTOCOL.md, checked through the host client and raw frames."""

    upload_idle_s: float = UPLOAD_IDLE_S  # the board's upload-mode idle limit
    baud: int = 115200
    timeouts = Timeouts(reply_s=2.0, ack_margin_s=0.5, infer_line_s=10.0)
    limit_s: float = 30.0  # bound on any one test's exchanges

    @pytest.fixture
    def board_url(self) -> Iterator[str]:
        raise NotImplementedError("a ProfilerTestCase subclass yields its board's port URL")

    @pytest.fixture
    def client(self, board_url: str) -> Iterator[ProfilerClient]:
        transport = SerialTransport.open(board_url, self.baud)
        client = ProfilerClient(transport, self.timeouts)
        within(self.limit_s, client.sync)
        yield client
        transport.close()

    @pytest.fixture
    def board(self, client: ProfilerClient) -> BoardInfo:
        return within(self.limit_s, client.info)

    @pytest.fixture
    def model(self) -> bytes:
        return reference_model()

    def _raw(self, client: ProfilerClient, data: bytes) -> list[str]:
        """Send raw bytes; the reply lines up to m-ready (noise dropped)."""
        client.transport.write(data, "test")
        lines: list[str] = []
        while True:
            reply = parse_line(client.transport.read_line(self.timeouts.reply_s * 3, "test"))
            if reply is not None and reply.kind == "ready":
                return lines
            if reply is not None:
                lines.append(reply.text)

    def _lines_until(self, client: ProfilerClient, prefix: str) -> list[str]:
        lines: list[str] = []
        while not lines or not lines[-1].startswith(prefix):
            lines.append(client.transport.read_line(self.timeouts.reply_s * 3, "test"))
        return lines

    def _error(self, client: ProfilerClient, command: str) -> BoardError:
        with pytest.raises(BoardError) as caught:
            within(self.limit_s, client.command, command)
        return caught.value

    # ---- identity -------------------------------------------------------------------------

    def test_info_describes_the_board(self, client: ProfilerClient, board: BoardInfo) -> None:
        assert board.protocol == "tinynas-profiler/1"
        assert board.clock_hz > 0 and board.timer_bits == 32
        assert 0 < board.pool_bytes <= board.sram_bytes
        assert 0 < board.chunk_bytes <= 0xFFFF
        assert within(self.limit_s, client.name) == board.board

    def test_profile_names_protocol_and_no_model(self, client: ProfilerClient) -> None:
        replies = within(self.limit_s, client.command, "profile")
        texts = [r.text for r in replies]
        assert texts[0].startswith("m-profile-[tinynas-profiler/1")
        assert "m-model-[none]" in texts

    # ---- upload, inference, results -------------------------------------------------------

    def test_upload_infer_matches_host_tflm(self, client: ProfilerClient, board: BoardInfo,
                                            model: bytes) -> None:  # fmt: skip
        upload = within(self.limit_s, client.upload_model, model)
        assert (upload.model_bytes, upload.crc32, upload.model_in) == (len(model),
                                                                       crc_hex(model), "ram")
        within(self.limit_s, client.set_input, 7)
        inference = within(self.limit_s, client.infer, 3, 1, board)
        assert len(inference.run_cycles) == 3 and min(inference.run_cycles) > 0
        size = int(np.prod(input_shape(model)))
        expected = host_output(model, random_input(7, size))
        assert inference.output_crc32 == crc_hex(expected)
        assert inference.output_bytes == len(expected)
        assert inference.results == tuple(np.frombuffer(expected, np.int8)[:256].tolist())
        assert within(self.limit_s, client.results) == (inference.results, len(expected),
                                                         inference.output_crc32)  # fmt: skip

    def test_per_op_lines_follow_the_model(self, client: ProfilerClient, board: BoardInfo,
                                           model: bytes) -> None:  # fmt: skip
        within(self.limit_s, client.upload_model, model)
        inference = within(self.limit_s, client.infer, 2, 0, board)
        per_run = {run: [s for s in inference.ops if s.run == run] for run in (0, 1)}
        assert [s.index for s in per_run[0]] == list(range(len(per_run[0]))) and per_run[0]
        assert [s.op for s in per_run[0]] == [s.op for s in per_run[1]]
        for run, samples in per_run.items():
            assert 0 < sum(s.cycles for s in samples) <= inference.run_cycles[run]

    def test_zeros_and_db_input(self, client: ProfilerClient, board: BoardInfo,
                                model: bytes) -> None:  # fmt: skip
        within(self.limit_s, client.upload_model, model)
        size = int(np.prod(input_shape(model)))
        within(self.limit_s, client.set_input, None)
        zeros = within(self.limit_s, client.infer, 1, 0, board)
        assert zeros.output_crc32 == crc_hex(host_output(model, bytes(size)))
        data = bytes(np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8))
        within(self.limit_s, client.load_input, data)
        loaded = within(self.limit_s, client.infer, 1, 0, board)
        assert loaded.output_crc32 == crc_hex(host_output(model, data))

    def test_arena_reports_room_next_to_the_model(self, client: ProfilerClient, board: BoardInfo,
                                                  model: bytes) -> None:  # fmt: skip
        within(self.limit_s, client.upload_model, model)
        arena = within(self.limit_s, client.arena)
        assert arena.model_in == "ram" and arena.model_bytes == len(model)
        assert arena.available_bytes == board.pool_bytes - align16(len(model))
        assert 0 < arena.used_bytes <= arena.available_bytes

    def test_timestamp_is_a_us_counter(self, client: ProfilerClient) -> None:
        first = within(self.limit_s, client.timestamp_us)
        assert 0 <= first < 2**32

    # ---- every error reply ----------------------------------------------------------------

    def test_unknown_command(self, client: ProfilerClient) -> None:
        error = self._error(client, "fly away")
        assert (error.code, error.detail) == ("Unknown command", "fly away")

    def test_command_too_long(self, client: ProfilerClient) -> None:
        error = self._error(client, "x" * 100)
        assert error.code == "command-too-long"
        assert within(self.limit_s, client.command, "sync abc")[0].text == "m-sync-[abc]"

    @pytest.mark.parametrize("command", ["infer x 1", "infer 0 1", "infer 1", "input random 0",
                                         "sync NOT_OK", "model 10 XYZ", "model", "db zz"])
    def test_bad_argument(self, client: ProfilerClient, model: bytes, command: str) -> None:
        within(self.limit_s, client.upload_model, model)
        assert self._error(client, command).code == "bad-argument"

    def test_no_model_and_no_results(self, client: ProfilerClient, model: bytes) -> None:
        for command in ("infer 1 0", "arena", "input zeros", "db load 4"):
            assert self._error(client, command).code == "no-model"
        within(self.limit_s, client.upload_model, model)
        assert self._error(client, "results").code == "no-results"
        assert self._error(client, f"model {len(model)} 0000000Z").code == "bad-argument"
        assert self._error(client, "infer 1 0").code == "no-model"  # `model` dropped it

    def test_model_too_large(self, client: ProfilerClient, board: BoardInfo) -> None:
        error = self._error(client, f"model {board.pool_bytes + 1} 00000000")
        assert error.code == "model-too-large" and str(board.pool_bytes) in error.detail
        assert self._error(client, "model 0 00000000").code == "model-too-large"

    def test_arena_too_large(self, client: ProfilerClient, board: BoardInfo,
                             model: bytes) -> None:  # fmt: skip
        padded = model + bytes(board.pool_bytes - 512 - len(model))  # 512 B left for the arena
        with pytest.raises(BoardError) as caught:
            within(self.limit_s, client.upload_model, padded)
        assert caught.value.code == "arena-too-large"
        assert "512 available" in caught.value.detail

    def test_bad_model(self, client: ProfilerClient) -> None:
        junk = bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8))
        with pytest.raises(BoardError) as caught:
            within(self.limit_s, client.upload_model, junk)
        assert caught.value.code == "bad-model"

    def test_crc_mismatch(self, client: ProfilerClient, model: bytes) -> None:
        part = model[:1000]
        lines = self._raw(client, f"model {len(part)} 12345678%".encode() + encode_frame(0, part))
        mismatch = f"e-[crc-mismatch: model crc32 {crc_hex(part)}, expected 12345678]"
        assert lines[-2:] == ["m-ack-0", mismatch]

    def test_upload_aborted(self, client: ProfilerClient, model: bytes) -> None:
        lines = self._raw(client, f"model 100 {crc_hex(model[:100])}%".encode() + abort_frame())
        assert lines[-1].startswith("e-[upload-aborted")

    def test_upload_timeout(self, client: ProfilerClient) -> None:
        start = time.monotonic()
        lines = self._raw(client, b"model 100 00000000%")
        assert lines[-1].startswith("e-[upload-timeout")
        assert self.upload_idle_s <= time.monotonic() - start < self.upload_idle_s + 3

    def test_slot_empty(self, client: ProfilerClient) -> None:
        assert self._error(client, "model slot").code == "slot-empty"

    # ---- frames ---------------------------------------------------------------------------

    def test_frame_naks_then_acks(self, client: ProfilerClient, board: BoardInfo,
                                  model: bytes) -> None:  # fmt: skip
        client.transport.write(f"model {len(model)} {crc_hex(model)}%".encode(), "test")
        expect = self._lines_until(client, "m-model-expect")[-1]
        assert expect == f"m-model-expect-[{len(model)},{board.chunk_bytes}]"
        chunk = min(board.chunk_bytes, 2048)
        first = encode_frame(0, model[:chunk])
        bad_crc = bytearray(first)
        bad_crc[chunk // 2] ^= 1
        naks = ((bytes(bad_crc), "crc"), (encode_frame(5, model[:chunk]), "sequence"),
                (first[: chunk // 2], "timeout"),
                (encode_frame(0, bytes(min(board.chunk_bytes, len(model)) + 1)), "length"))
        for frame, reason in naks:
            client.transport.write(frame, "test")
            assert self._lines_until(client, "m-nak")[-1] == f"m-nak-0-[{reason}]"
        parts = [model[i : i + chunk] for i in range(0, len(model), chunk)]
        frames = [encode_frame(i, part) for i, part in enumerate(parts)]
        for seq, frame in [(0, frames[0]), *enumerate(frames)]:  # frame 0 twice: acked again
            client.transport.write(frame, "test")
            assert self._lines_until(client, "m-ack")[-1] == f"m-ack-{seq}"
        loaded = f"m-model-loaded-[bytes={len(model)},crc32={crc_hex(model)},in=ram]"
        assert self._raw(client, b"") == [loaded]

    def test_garbage_then_resync(self, client: ProfilerClient, board: BoardInfo) -> None:
        noise = bytes(np.random.default_rng(9).integers(0, 256, 300, dtype=np.uint8))
        client.transport.write(noise, "test")
        within(self.limit_s, client.sync)
        assert within(self.limit_s, client.info) == board
