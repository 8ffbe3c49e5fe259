"""Size strings: decimal and binary units mean what the standards say; nonsense is refused."""

from __future__ import annotations

import pytest

from tinynas.errors import TinyNASError
from tinynas.units import (
    SizeError,
    format_latency,
    format_seconds,
    format_size,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size_bytes"),
    [
        ("65536", 65_536),
        ("65536B", 65_536),
        ("64KB", 64_000),
        ("64kB", 64_000),
        ("64kb", 64_000),
        ("64KiB", 65_536),
        ("64 KiB", 65_536),
        ("64kib", 65_536),
        ("1.5MB", 1_500_000),
        ("2MiB", 2_097_152),
        ("0.5KiB", 512),
        (".25MiB", 262_144),
        ("  128KiB ", 131_072),
        (4096, 4096),
    ],
)
def test_parse_size(text: str | int, size_bytes: int) -> None:
    assert parse_size(text) == size_bytes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("64K", "unknown unit 'K'"),
        ("64 GB", "unknown unit 'GB'"),
        ("1e6", "not a size"),
        ("-1", "not a size"),
        ("", "not a size"),
        ("KB", "not a size"),
        ("lots", "not a size"),
        ("1,000", "not a size"),
        ("64  KB", "not a size"),
        ("0", "more than 0 bytes"),
        ("0KiB", "more than 0 bytes"),
        ("0.1KiB", "102.4 bytes, not a whole number"),
        ("1.0000001KB", "not a whole number"),
    ],
)
def test_nonsense_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(SizeError) as caught:
        parse_size(text)
    message = str(caught.value)
    assert reason in message
    assert repr(text) in message  # the value the user gave
    assert "64KiB (65,536 B)" in message  # and what to give instead


def test_size_error_is_a_tinynas_error() -> None:
    # the CLI turns TinyNASError into one line and exit status 2
    assert issubclass(SizeError, TinyNASError)
    with pytest.raises(TinyNASError):
        parse_size(True)  # type: ignore[arg-type]


def test_format_size_keeps_exact_bytes() -> None:
    assert format_size(1000) == "1,000 B"
    assert format_size(65_536) == "65,536 B (64.0 KiB)"
    assert format_size(2_097_152) == "2,097,152 B (2.00 MiB)"
    assert parse_size(format_size(131_072).split(" B")[0].replace(",", "")) == 131_072


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1.5h", 5400.0), (" 2h ", 7200.0),
])
def test_durations_in_seconds_minutes_and_hours(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "10 min", "-5m", "1e3", "10d"])
def test_a_duration_that_is_not_one_is_refused_with_examples(text: str) -> None:
    with pytest.raises(TinyNASError, match="is not a duration; use e.g. 90s, 10m or 2h"):
        parse_duration(text)


def test_latencies_and_compute_times_print_to_their_precision() -> None:
    assert format_latency(28.3462) == "28.35 ms"
    assert format_seconds(41.6) == "42 s"
