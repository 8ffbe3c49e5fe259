"""The protocol's lines, frames and arithmetic, shared by host and emulated board."""

from __future__ import annotations

import struct
import zlib

import pytest

from tinynas.errors import ProfilerError
from tinynas.profile import BoardInfo
from tinynas.profile._protocol import (
    LINES,
    TIMER_WRAP,
    align16,
    chunks,
    crc_hex,
    encode_frame,
    format_line,
    frame_crc_ok,
    parse_line,
    parse_slot_image,
    random_input,
    run_cycles,
    slot_image,
    split_error,
)

SAMPLES = {  # kind -> fields the board side would write
    "ready": (), "error": ("bad-argument: infer N W",), "name": ("nucleo-l4r5zi",),
    "profile": ("tinynas-profiler/1",), "model": ("crc32=0A1B2C3D",), "lap_us": (123,),
    "expecting": (490,), "load_done": (), "warmup_start": (2,), "warmup_done": (),
    "infer_start": (5,), "infer_done": (), "run": (0, 4294967000, 5000, 17, 99),
    "op": (1, 3, "DEPTHWISE_CONV_2D", 251390), "results": ("-128,0,127",),
    "output": (12, "FC17DC01"), "info": ("clock_hz", 120000000), "sync": ("ab12",),
    "input": ("random,1",), "arena": ("used_bytes", 24272), "expect": (53936, 4096),
    "loaded": (53936, "33A66A7C", "ram"), "ack": (13,), "nak": (4, "crc"),
}  # fmt: skip


def test_every_line_kind_round_trips() -> None:
    assert set(SAMPLES) == set(LINES)
    for kind, fields in SAMPLES.items():
        reply = parse_line(format_line(kind, *fields) + "\r\n")
        assert reply is not None and reply.kind == kind, kind
        assert reply.fields == tuple(str(f) for f in fields)


@pytest.mark.parametrize("text", ["", "hello", "m-", "m-ack-x", "## m-ready", "m-readyish"])
def test_noise_is_not_a_reply(text: str) -> None:
    assert parse_line(text) is None


def test_error_codes_split() -> None:
    assert split_error("model-too-large: 9 bytes") == ("model-too-large", "9 bytes")
    assert split_error("Unknown command: fly") == ("Unknown command", "fly")
    assert split_error("something: else") == ("error", "something: else")


def test_frame_layout_and_crc() -> None:
    payload = bytes(range(200))
    frame = encode_frame(7, payload)
    sync, seq, size = struct.unpack_from("<2sHH", frame)
    (crc,) = struct.unpack_from("<I", frame, 6 + size)
    assert (sync, seq, size, len(frame)) == (b"\xa5\x5a", 7, 200, 210)
    assert crc == zlib.crc32(frame[2 : 6 + size])
    assert frame_crc_ok(7, payload, crc)
    assert not frame_crc_ok(8, payload, crc)
    assert not frame_crc_ok(7, payload[:-1] + b"\x00", crc)


def test_chunks_cover_the_model() -> None:
    data = bytes(range(256)) * 40
    parts = chunks(data, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 2048]
    assert b"".join(parts) == data
    assert crc_hex(data) == f"{zlib.crc32(data):08X}"


def test_random_input_follows_the_spec() -> None:
    assert random_input(1, 4) == bytes([0x21, 0x01, 0xC5, 0x4F])  # PROTOCOL.md section 4
    x, expected = 123456789, bytearray()
    for _ in range(1000):
        x ^= (x << 13) % TIMER_WRAP
        x ^= x >> 17
        x ^= (x << 5) % TIMER_WRAP
        expected.append(x % 256)
    assert random_input(123456789, 1000) == bytes(expected)
    for seed in (0, TIMER_WRAP):
        with pytest.raises(ProfilerError, match="seed"):
            random_input(seed, 4)


@pytest.mark.parametrize("cycles", [5_000, TIMER_WRAP - 1, TIMER_WRAP + 5_000, 3 * TIMER_WRAP + 7])
@pytest.mark.parametrize("start", [0, TIMER_WRAP - 100])
def test_run_cycles_undo_wraps(cycles: int, start: int) -> None:
    clock_hz = 120_000_000
    us0 = 4_000_000_000
    c0, c1 = start, (start + cycles) % TIMER_WRAP
    u1 = (us0 + cycles * 1_000_000 // clock_hz) % TIMER_WRAP
    assert run_cycles(c0, c1, us0, u1, clock_hz, us_timer=True) == cycles
    assert run_cycles(c0, c1, us0, u1, clock_hz, us_timer=False) == cycles % TIMER_WRAP


def test_slot_image_round_trip() -> None:
    model = b"\x1c\x00\x00\x00TFL3" + bytes(100)
    image = slot_image(model)
    assert image[:4] == struct.pack("<I", 108) and image[4:] == model
    assert parse_slot_image(image, 1000) == model
    assert parse_slot_image(image, 107) is None  # larger than the slot
    assert parse_slot_image(b"\xff" * 200, 1000) is None  # erased flash
    assert parse_slot_image(struct.pack("<I", 0), 1000) is None
    assert parse_slot_image(image[:50], 1000) is None  # truncated


def test_align16() -> None:
    assert [align16(n) for n in (1, 16, 17, 53936)] == [16, 16, 32, 53936]


def _info(**overrides: str) -> dict[str, str]:
    fields = {"protocol": "tinynas-profiler/1", "board": "b", "emulated": "0", "core": "c",
              "clock_hz": "1000", "sram_bytes": "10", "flash_bytes": "20", "pool_bytes": "8",
              "slot_bytes": "0", "chunk_bytes": "64", "timer_bits": "32", "us_timer": "1",
              "runtime": "tflm 2.3.1", "kernels": "cmsis-nn"}  # fmt: skip
    fields.update(overrides)
    return fields


def test_board_info_checks_its_fields() -> None:
    info = BoardInfo.from_fields(_info())
    assert (info.clock_hz, info.emulated, info.us_timer, info.source) == (1000, False, True,
                                                                          "measured")
    assert BoardInfo.from_fields(_info(emulated="1")).source == "emulated"
    with pytest.raises(ProfilerError, match="tinynas-profiler/2"):
        BoardInfo.from_fields(_info(protocol="tinynas-profiler/2"))
    with pytest.raises(ProfilerError, match="lacks clock_hz"):
        BoardInfo.from_fields({k: v for k, v in _info().items() if k != "clock_hz"})
    with pytest.raises(ProfilerError, match="non-numeric"):
        BoardInfo.from_fields(_info(pool_bytes="many"))
    assert info.counts == "cycles"  # when the board does not say
    assert BoardInfo.from_fields(_info(counts="instructions")).counts == "instructions"
    with pytest.raises(ProfilerError, match="counts=cycles_per_second; this host knows"):
        BoardInfo.from_fields(_info(counts="cycles_per_second"))
