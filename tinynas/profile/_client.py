"""The host side of the profiler protocol: commands, replies, the framed model upload.

A :class:`ProfilerClient` drives one board through a :class:`SerialTransport`. Call
:meth:`ProfilerClient.sync` first (it also recovers from garbage and a half-finished upload),
then any command. Every wait is bounded by :class:`Timeouts`; an ``e-[...]`` reply raises
:class:`BoardError` once the board's ``m-ready`` has been read, so the link stays in step.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass

from tinynas.errors import DeviceTimeoutError, ProfilerError
from tinynas.profile._protocol import (
    COMMAND_MAX_BYTES,
    TIMER_WRAP,
    UNKNOWN_COMMAND,
    Reply,
    abort_frame,
    chunks,
    crc_hex,
    encode_frame,
    frame_seconds,
    parse_line,
    run_cycles,
    split_error,
)
from tinynas.profile._result import (
    ArenaInfo,
    BoardInfo,
    Inference,
    LapInference,
    OpSample,
    UploadStats,
)
from tinynas.profile._transport import SerialTransport

_HEX_BYTES_PER_DB = (COMMAND_MAX_BYTES - len("db %")) // 2  # 38 input bytes per `db` command


@dataclass(frozen=True)
class Timeouts:
    """Every wait of the host, in seconds (PROTOCOL.md section 8).

    A line's wait is its timeout here plus the time the longest reply line (2048 bytes)
    takes on the wire at the line rate (:meth:`ProfilerClient.line_timeout_s`): at 1200 baud
    a long ``m-results`` line takes 11 s, which no fixed 2 s could wait for.
    """

    reply_s: float = 2.0  # each reply line of a command, beyond its time on the wire
    ack_margin_s: float = 1.0  # added to twice a frame's time on the wire
    infer_line_s: float = 60.0  # each line of `infer` (at least one line arrives per run)
    upload_attempts: int = 5  # sends of one frame before the upload is abandoned
    sync_attempts: int = 3


class BoardError(ProfilerError):
    """An ``e-[CODE: message]`` reply of the board.

    Attributes:
        code: The error code of PROTOCOL.md section 6 (``"error"`` for an unlisted form).
        detail: The board's message.
        command: The command it answered.
    """

    def __init__(self, command: str, message: str) -> None:
        self.code, self.detail = split_error(message)
        self.command = command
        super().__init__(f"the board refused '{command}': {message}")


class ProfilerClient:
    """Commands to one board over ``transport``, each wait bounded by ``timeouts``."""

    def __init__(self, transport: SerialTransport, timeouts: Timeouts | None = None) -> None:
        self.transport = transport
        self.timeouts = timeouts or Timeouts()
        self.noise_lines = 0  # lines received that were not replies (garbage, banners)
        self._tokens = itertools.count(int.from_bytes(os.urandom(2), "little"))

    # ---- lines ----------------------------------------------------------------------------

    def line_timeout_s(self, base_s: float | None = None) -> float:
        """The wait for one reply line: ``base_s`` (default ``timeouts.reply_s``) plus the
        time of the longest reply line at the line rate."""
        base = self.timeouts.reply_s if base_s is None else base_s
        return base + self.transport.longest_line_seconds()

    def _reply(self, timeout_s: float, what: str) -> Reply:
        """The next reply line, skipping noise; ``timeout_s`` bounds the whole wait."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            line = self.transport.read_line(max(left, 0.0), what)
            reply = parse_line(line)
            if reply is not None:
                return reply
            self.noise_lines += 1

    def _until_ready(self, what: str, line_s: float, total_s: float | None = None
                     ) -> list[Reply]:  # fmt: skip
        """Replies up to ``m-ready`` (each within ``line_s``, all within ``total_s``, default
        20 lines' worth); raises :class:`BoardError` for an error reply once it is read."""
        total = total_s if total_s is not None else 20 * line_s
        deadline = time.monotonic() + total
        replies: list[Reply] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"{what}: the board kept talking for {total:.1f} s "
                                         "without finishing with m-ready")  # fmt: skip
            reply = self._reply(min(line_s, left), what)
            if reply.kind == "ready":
                break
            replies.append(reply)
        errors = [r for r in replies if r.kind == "error"]
        if errors:
            raise BoardError(what, errors[0].fields[0])
        return replies

    def command(self, text: str, line_s: float | None = None, total_s: float | None = None
                ) -> list[Reply]:  # fmt: skip
        """Send ``text%`` and return its replies (``m-ready`` excluded).

        Raises:
            BoardError: The board answered with an error line.
            DeviceTimeoutError: A reply line, or ``m-ready``, did not come in time.
        """
        self.transport.write(f"{text}%".encode("ascii"), f"sending '{text}'")
        return self._until_ready(text, self.line_timeout_s(line_s), total_s)

    # ---- session --------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring host and board into step (PROTOCOL.md section 8): abort, ``%``, ``sync T%``.

        Raises:
            DeviceTimeoutError: No ``m-sync`` answer after ``sync_attempts`` tries.
        """
        for _ in range(self.timeouts.sync_attempts):
            token = f"s{next(self._tokens) & 0xFFFFFF:06x}"
            self.transport.flush_input()
            self.transport.write(abort_frame() + f"%sync {token}%".encode(), "resynchronising")
            try:
                self._await_token(token)
                return
            except DeviceTimeoutError:
                continue
        waited = self.timeouts.sync_attempts * self.line_timeout_s()
        raise DeviceTimeoutError(
            f"no answer from the board on {self.transport.name} to {self.timeouts.sync_attempts} "
            f"sync attempts ({waited:.1f} s): is the profiler firmware running, at the right "
            "baud rate, on this port?"
        )

    def _await_token(self, token: str) -> None:
        deadline = time.monotonic() + self.line_timeout_s()
        seen = False
        while True:
            reply = self._reply(max(deadline - time.monotonic(), 0.0), "sync")
            seen = seen or (reply.kind == "sync" and reply.fields[0] == token) or (
                reply.kind == "error" and reply.text.endswith(f"sync {token}]"))  # MLPerf board
            if seen and reply.kind == "ready":
                return

    def info(self) -> BoardInfo:
        """The board's ``info%``.

        Raises:
            ProfilerError: The board does not know ``info%`` (MLPerf Tiny firmware) or speaks
                another protocol version.
        """
        try:
            replies = self.command("info")
        except BoardError as e:
            if e.code != UNKNOWN_COMMAND:
                raise
            raise ProfilerError(
                f"the board on {self.transport.name} does not answer info%: it runs MLPerf Tiny "
                "runner firmware (model compiled in), which cannot receive models; flash the "
                "tinynas profiler firmware (profilers/) with 'tinynas flash'"
            ) from e
        info = {r.fields[0]: r.fields[1] for r in replies if r.kind == "info"}
        return BoardInfo.from_fields(info)

    def name(self) -> str:
        """The board's name (``name%``)."""
        return self._single(self.command("name"), "name", "name").fields[0]

    def timestamp_us(self) -> int:
        """The board's raw microsecond timer (``timestamp%``)."""
        return self._single(self.command("timestamp"), "lap_us", "timestamp").number()

    def _single(self, replies: list[Reply], kind: str, what: str) -> Reply:
        for reply in replies:
            if reply.kind == kind:
                return reply
        raise ProfilerError(f"the board answered '{what}' without its m-{kind} line; "
                            f"got {[r.text for r in replies]}")  # fmt: skip

    # ---- model and input ------------------------------------------------------------------

    def upload_model(self, model: bytes, chunk_bytes: int | None = None) -> UploadStats:
        """Send ``model`` in CRC-checked frames, retrying refused or unanswered frames.

        Raises:
            BoardError: The board refused the model (size, arena, CRC, not a model).
            ProfilerError: A frame failed ``upload_attempts`` times.
            DeviceTimeoutError: The board stopped answering.
        """
        crc = crc_hex(model)
        what = f"model {len(model)} {crc}"
        start = time.monotonic()
        self.transport.write(f"{what}%".encode(), f"sending '{what}'")
        chunk = self._expect(what, len(model), chunk_bytes)
        frames, retries = self._send_frames(chunks(model, chunk))
        seconds = time.monotonic() - start
        replies = self._until_ready(what, self.line_timeout_s())
        loaded = self._single(replies, "loaded", what)
        return UploadStats(len(model), crc, chunk, frames, retries, seconds, loaded.fields[2])

    def _expect(self, what: str, size: int, chunk_bytes: int | None) -> int:
        """Read the board's ``m-model-expect-[N,C]``; returns the chunk size to use."""
        deadline = time.monotonic() + self.line_timeout_s()
        while True:
            reply = self._reply(max(deadline - time.monotonic(), 0.0), what)
            if reply.kind == "error":
                self._until_ready(what, self.line_timeout_s())
                raise BoardError(what, reply.fields[0])
            if reply.kind == "expect":
                break
        if reply.number(0) != size or reply.number(1) < 1:
            raise ProfilerError(f"the board expects {reply.number(0)} bytes in chunks of "
                                f"{reply.number(1)}, not {size}: {reply.text}")  # fmt: skip
        return min(reply.number(1), chunk_bytes or reply.number(1))

    def _send_frames(self, parts: list[bytes]) -> tuple[int, int]:
        """Stop-and-wait transfer of ``parts``; returns (frames sent, retries)."""
        seq, sent = 0, 0
        failures: list[list[str]] = [[] for _ in parts]
        while seq < len(parts):
            if len(failures[seq]) >= self.timeouts.upload_attempts:
                self._abandon(seq, failures[seq], len(parts[seq]))
            self.transport.write(encode_frame(seq, parts[seq]), f"uploading frame {seq}")
            sent += 1
            after, failure = self._await_ack(seq, len(parts[seq]), len(parts))
            if failure:
                failures[seq].append(failure)
            seq = after
        return sent, sent - len(parts)

    def _ack_timeout_s(self, size: int) -> float:
        return 2 * frame_seconds(size, self.transport.baud) + self.timeouts.ack_margin_s

    def _await_ack(self, seq: int, size: int, count: int) -> tuple[int, str]:
        """(frame to send next, "" or why frame ``seq`` failed): ``seq + 1`` after its ack,
        the board's choice after a NAK, ``seq`` again when no answer came in time."""
        deadline = time.monotonic() + self._ack_timeout_s(size)
        what = f"upload frame {seq} of {count}"
        while True:
            try:
                reply = self._reply(max(deadline - time.monotonic(), 0.0), what)
            except DeviceTimeoutError:
                return seq, "timeout"
            if reply.kind == "ack" and reply.number() == seq:
                return seq + 1, ""
            if reply.kind == "nak":
                return min(max(reply.number(), 0), count - 1), reply.fields[1]
            if reply.kind == "error":
                self._until_ready(what, self.line_timeout_s())
                raise BoardError(what, reply.fields[0])

    def _abandon(self, seq: int, failures: list[str], size: int) -> None:
        """Send the abort frame and raise: frame ``seq`` never got through."""
        self.transport.write(abort_frame(), "aborting the upload")
        try:
            self._until_ready("abort", self.line_timeout_s())
        except (BoardError, DeviceTimeoutError):
            pass  # the board's upload-aborted error is the expected answer
        if all(f == "timeout" for f in failures):
            raise DeviceTimeoutError(
                f"the board on {self.transport.name} stopped answering during the model upload: "
                f"no ack for frame {seq} in {len(failures)} attempts of "
                f"{self._ack_timeout_s(size):.1f} s; is it still running?"
            )
        raise ProfilerError(
            f"upload frame {seq} failed {len(failures)} times on {self.transport.name} "
            f"({', '.join(failures)}); the serial line is unreliable: check the cable, or use a "
            "lower baud rate"
        )

    def load_slot(self) -> str:
        """Load the model of the board's flash slot; returns its CRC32."""
        return self._single(self.command("model slot"), "loaded", "model slot").fields[1]

    def set_input(self, seed: int | None) -> None:
        """Input from the protocol's generator with ``seed``, or all zeros for None."""
        self.command("input zeros" if seed is None else f"input random {seed}")

    def load_input(self, data: bytes) -> None:
        """Send the input tensor through EEMBC's ``db load N%`` and ``db HEX%`` commands."""
        self.command(f"db load {len(data)}")
        for i in range(0, len(data), _HEX_BYTES_PER_DB):
            self.command(f"db {data[i : i + _HEX_BYTES_PER_DB].hex()}")

    # ---- measurement ----------------------------------------------------------------------

    def infer(self, runs: int, warmup: int, board: BoardInfo) -> Inference:
        """``infer runs warmup%``: cycles of each run (wraps undone), per-op cycles, output.

        Raises:
            BoardError: No model, or the inference failed on the board.
            DeviceTimeoutError: A line did not come within ``infer_line_s``.
        """
        what = f"infer {runs} {warmup}"
        total = self.line_timeout_s(self.timeouts.infer_line_s) * (runs + warmup + 4)
        replies = self.command(what, self.timeouts.infer_line_s, total)
        cycles = tuple(
            run_cycles(r.number(1), r.number(2), r.number(3), r.number(4), board.clock_hz,
                       board.us_timer)
            for r in replies if r.kind == "run"
        )  # fmt: skip
        if len(cycles) != runs:
            raise ProfilerError(f"'{what}': the board reported {len(cycles)} m-run lines, "
                                f"not {runs}")  # fmt: skip
        ops = tuple(OpSample(r.number(0), r.number(1), r.fields[2], r.number(3))
                    for r in replies if r.kind == "op")  # fmt: skip
        return _inference(cycles, ops, replies, what)

    def infer_laps(self, runs: int, warmup: int) -> LapInference:
        """``infer runs warmup%`` timed by its two ``m-lap-us`` lines, as the MLPerf Tiny runner
        does: works with MLPerf Tiny firmware (model compiled in) as well as tinynas boards."""
        what = f"infer {runs} {warmup}"
        total = self.line_timeout_s(self.timeouts.infer_line_s) * (runs + warmup + 4)
        replies = self.command(what, self.timeouts.infer_line_s, total)
        laps = [r.number() for r in replies if r.kind == "lap_us"]
        results = [r for r in replies if r.kind == "results"]
        if len(laps) != 2 or not results:
            raise ProfilerError(f"'{what}': expected two m-lap-us lines and m-results, got "
                                f"{[r.text for r in replies][:8]}")  # fmt: skip
        values = tuple(float(v) for v in results[-1].fields[0].split(",") if v)
        return LapInference(runs, (laps[1] - laps[0]) % TIMER_WRAP, values)

    def results(self) -> tuple[tuple[int, ...], int, str]:
        """``results%``: the last output values, its size in bytes and its CRC32."""
        replies = self.command("results")
        values = self._single(replies, "results", "results").fields[0]
        output = self._single(replies, "output", "results")
        return _values(values), output.number(0), output.fields[1]

    def arena(self) -> ArenaInfo:
        """``arena%``: the arena TFLM allocated on the board and the room it had."""
        fields = {r.fields[0]: r.fields[1] for r in self.command("arena") if r.kind == "arena"}
        try:
            return ArenaInfo(int(fields["used_bytes"]), int(fields["available_bytes"]),
                             int(fields["model_bytes"]), fields["model_in"])  # fmt: skip
        except (KeyError, ValueError) as e:
            raise ProfilerError(f"the board's arena% reply is incomplete: {fields}") from e


def _values(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v)


def _inference(cycles: tuple[int, ...], ops: tuple[OpSample, ...], replies: list[Reply],
               what: str) -> Inference:  # fmt: skip
    results = [r for r in replies if r.kind == "results"]
    output = [r for r in replies if r.kind == "output"]
    if not results or not output:
        raise ProfilerError(f"'{what}': the board sent no m-results / m-output line")
    return Inference(cycles, ops, _values(results[-1].fields[0]), output[-1].number(0),
                     output[-1].fields[1])  # fmt: skip
