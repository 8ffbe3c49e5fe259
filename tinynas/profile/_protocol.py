"""The profiler protocol of ``profilers/PROTOCOL.md``, shared by the host and the emulated board.

Three parts: reply lines (one table of ``kind -> (regex, template)``, so a line the emulator
formats is a line the host parses), upload frames (sync, seq, len, payload, CRC32), and the
arithmetic both sides must agree on (the input generator, timer wrap, memory budgets, the flash
slot image).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from tinynas.errors import ProfilerError

PROTOCOL = "tinynas-profiler/1"
PROTOCOL_MAJOR = 1
COMMAND_MAX_BYTES = 80  # EEMBC's command buffer, the terminating '%' included
LINE_MAX_BYTES = 2048
RESULTS_MAX_VALUES = 256
TIMER_WRAP = 1 << 32

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<2sHH")  # sync, seq, len
TRAILER = struct.Struct("<I")  # CRC32 of seq, len and payload
FRAME_OVERHEAD_BYTES = HEADER.size + TRAILER.size
ABORT_SEQ = 0xFFFF
MAX_CHUNK_BYTES = 0xFFFF
FRAME_GAP_S = 0.1  # a frame whose bytes stop for longer is refused with a "timeout" NAK
NAK_IDLE_S = 0.02  # the board waits for this much silence before it sends a NAK
UPLOAD_IDLE_S = 5.0  # the board leaves upload mode after this long without a byte
SLOT_HEADER = struct.Struct("<I")
MODEL_ALIGN = 16

# EEMBC's error text for an unknown command (kept verbatim); the others are "code: message"
UNKNOWN_COMMAND = "Unknown command"
ERROR_CODES = (
    UNKNOWN_COMMAND,
    "command-too-long",
    "bad-argument",
    "no-model",
    "no-results",
    "model-too-large",
    "arena-too-large",
    "bad-model",
    "crc-mismatch",
    "upload-aborted",
    "upload-timeout",
    "slot-empty",
    "invoke-failed",
)

_INT = r"(\d+)"
_TEXT = r"([^\]]*)"
# kind -> (regex of the line, template that writes it); the board side fills the templates.
LINES: dict[str, tuple[re.Pattern[str], str]] = {
    "ready": (re.compile(r"m-ready"), "m-ready"),
    "error": (re.compile(r"e-\[(.*)\]"), "e-[{}]"),
    "name": (re.compile(rf"m-name-dut-\[{_TEXT}\]"), "m-name-dut-[{}]"),
    "profile": (re.compile(rf"m-profile-\[{_TEXT}\]"), "m-profile-[{}]"),
    "model": (re.compile(rf"m-model-\[{_TEXT}\]"), "m-model-[{}]"),
    "lap_us": (re.compile(rf"m-lap-us-{_INT}"), "m-lap-us-{}"),
    "expecting": (re.compile(rf"m-\[Expecting {_INT} bytes\]"), "m-[Expecting {} bytes]"),
    "load_done": (re.compile(r"m-load-done"), "m-load-done"),
    "warmup_start": (re.compile(rf"m-warmup-start-{_INT}"), "m-warmup-start-{}"),
    "warmup_done": (re.compile(r"m-warmup-done"), "m-warmup-done"),
    "infer_start": (re.compile(rf"m-infer-start-{_INT}"), "m-infer-start-{}"),
    "infer_done": (re.compile(r"m-infer-done"), "m-infer-done"),
    "run": (re.compile(rf"m-run-\[{_INT},{_INT},{_INT},{_INT},{_INT}\]"),
            "m-run-[{},{},{},{},{}]"),
    "op": (re.compile(rf"m-op-\[{_INT},{_INT},([^,\]]+),{_INT}\]"), "m-op-[{},{},{},{}]"),
    "results": (re.compile(r"m-results-\[([-\d.,]*)\]"), "m-results-[{}]"),
    "output": (re.compile(rf"m-output-\[bytes={_INT},crc32=([0-9A-F]{{8}})\]"),
               "m-output-[bytes={},crc32={}]"),
    "info": (re.compile(rf"m-info-\[(\w+)={_TEXT}\]"), "m-info-[{}={}]"),
    "sync": (re.compile(rf"m-sync-\[{_TEXT}\]"), "m-sync-[{}]"),
    "input": (re.compile(rf"m-input-\[{_TEXT}\]"), "m-input-[{}]"),
    "arena": (re.compile(rf"m-arena-\[(\w+)={_TEXT}\]"), "m-arena-[{}={}]"),
    "expect": (re.compile(rf"m-model-expect-\[{_INT},{_INT}\]"), "m-model-expect-[{},{}]"),
    "loaded": (re.compile(rf"m-model-loaded-\[bytes={_INT},"
                          rf"crc32=([0-9A-F]{{8}}),in=(ram|flash)\]"),
               "m-model-loaded-[bytes={},crc32={},in={}]"),
    "ack": (re.compile(rf"m-ack-{_INT}"), "m-ack-{}"),
    "nak": (re.compile(rf"m-nak-{_INT}-\[(\w+)\]"), "m-nak-{}-[{}]"),
}  # fmt: skip


@dataclass(frozen=True)
class Reply:
    """One parsed reply line: its kind (a key of :data:`LINES`) and its fields, as text."""

    kind: str
    fields: tuple[str, ...]
    text: str

    def number(self, index: int = 0) -> int:
        """Field ``index`` as an integer."""
        return int(self.fields[index])


def format_line(kind: str, *fields: object) -> str:
    """The reply line of ``kind`` with ``fields`` (no line terminator)."""
    return LINES[kind][1].format(*fields)


def parse_line(text: str) -> Reply | None:
    """The reply a line holds, or None for noise (anything not in :data:`LINES`)."""
    text = text.strip("\r\n\0 ")
    if not text.startswith(("m-", "e-")):
        return None
    for kind, (pattern, _) in LINES.items():
        match = pattern.fullmatch(text)
        if match:
            return Reply(kind, match.groups(), text)
    return None


def split_error(message: str) -> tuple[str, str]:
    """``(code, detail)`` of an ``e-[...]`` message; an unlisted form has code ``"error"``."""
    code, sep, detail = message.partition(":")
    if sep and code in ERROR_CODES:
        return code, detail.strip()
    return "error", message


def error_text(code: str, detail: str) -> str:
    """The message of an error line: ``code: detail``."""
    return f"{code}: {detail}"


# ---- frames ---------------------------------------------------------------------------------


def crc32(data: bytes) -> int:
    """IEEE 802.3 CRC32 (zlib's)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def crc_hex(data: bytes) -> str:
    """CRC32 of ``data`` as 8 uppercase hex digits, as the protocol writes it."""
    return f"{crc32(data):08X}"


def encode_frame(seq: int, payload: bytes) -> bytes:
    """One upload frame: sync, seq, len, payload, CRC32 of seq+len+payload."""
    body = HEADER.pack(SYNC, seq, len(payload))[len(SYNC):] + payload
    return SYNC + body + TRAILER.pack(crc32(body))


def abort_frame() -> bytes:
    """The frame that makes the board abandon an upload."""
    return encode_frame(ABORT_SEQ, b"")


def frame_crc_ok(seq: int, payload: bytes, crc: int) -> bool:
    """Whether ``crc`` is the CRC32 of the frame with ``seq`` and ``payload``."""
    return crc32(struct.pack("<HH", seq, len(payload)) + payload) == crc


def frame_seconds(payload_bytes: int, baud: int) -> float:
    """Time one frame takes on a UART at ``baud`` (10 bits per byte, 8N1)."""
    return (payload_bytes + FRAME_OVERHEAD_BYTES) * 10.0 / baud


def chunks(model: bytes, chunk_bytes: int) -> list[bytes]:
    """``model`` cut into frame payloads of ``chunk_bytes`` (the last one shorter)."""
    return [model[i : i + chunk_bytes] for i in range(0, len(model), chunk_bytes)]


# ---- arithmetic both sides agree on ---------------------------------------------------------


def random_input(seed: int, size_bytes: int) -> bytes:
    """The input bytes of ``input random SEED%``: 32-bit xorshift (13, 17, 5), low byte.

    Raises:
        ProfilerError: A seed outside ``1 <= seed < 2**32``.
    """
    if not 1 <= seed < TIMER_WRAP:
        raise ProfilerError(f"input seed {seed} is out of range; use 1 .. 4294967295")
    x, out = seed, bytearray(size_bytes)
    for i in range(size_bytes):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def run_cycles(c0: int, c1: int, u0: int, u1: int, clock_hz: int, us_timer: bool) -> int:
    """Cycles of one run from raw 32-bit counters, undoing cycle-counter wraps (PROTOCOL.md 2)."""
    dc = (c1 - c0) % TIMER_WRAP
    if not us_timer:
        return dc
    du = (u1 - u0) % TIMER_WRAP
    wraps = max(0, round((du * clock_hz / 1e6 - dc) / TIMER_WRAP))
    return dc + wraps * TIMER_WRAP


def align16(size_bytes: int) -> int:
    """``size_bytes`` rounded up to the model buffer's 16-byte alignment."""
    return (size_bytes + MODEL_ALIGN - 1) // MODEL_ALIGN * MODEL_ALIGN


def slot_image(model: bytes) -> bytes:
    """What goes at a board's ``model_slot_address``: uint32 LE length, then the model."""
    return SLOT_HEADER.pack(len(model)) + model


def parse_slot_image(image: bytes, slot_bytes: int) -> bytes | None:
    """The model held in a flash slot image, or None for an empty or invalid slot."""
    if len(image) < SLOT_HEADER.size:
        return None
    (size,) = SLOT_HEADER.unpack_from(image)
    if not 1 <= size <= slot_bytes or len(image) < SLOT_HEADER.size + size:
        return None
    return image[SLOT_HEADER.size : SLOT_HEADER.size + size]
