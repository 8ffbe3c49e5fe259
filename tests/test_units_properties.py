"""Any text given as a size or a duration is a positive number or one TinyNASError
(property-based)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tinynas.errors import TinyNASError
from tinynas.units import UNIT_BYTES, parse_duration, parse_size

SETTINGS = settings(max_examples=300, deadline=None)
NUMBERS = st.from_regex(r"\s*[0-9]{0,400}(\.[0-9]{0,30})?\s*", fullmatch=True)
SIZES = st.one_of(st.text(max_size=30), st.builds(
    lambda n, u: n + u, NUMBERS, st.sampled_from([*UNIT_BYTES, " KiB", "KIB", "k", "GB", "e3"])))
DURATIONS = st.one_of(st.text(max_size=30), st.builds(
    lambda n, u: n + u, NUMBERS, st.sampled_from(["", "s", "m", "h", " h", "d", "ms", "e9"])))


def _one_line(error: TinyNASError) -> None:
    assert "\n" not in str(error) and len(str(error)) < 300, str(error)


@SETTINGS
@given(SIZES)
def test_any_size_text_is_positive_bytes_or_one_error(text: str) -> None:
    try:
        size = parse_size(text)
    except TinyNASError as e:
        _one_line(e)
        return
    assert isinstance(size, int) and not isinstance(size, bool) and size > 0


@SETTINGS
@given(DURATIONS)
def test_any_duration_text_is_positive_finite_seconds_or_one_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except TinyNASError as e:
        _one_line(e)
        return
    assert isinstance(seconds, float) and 0 < seconds < math.inf


def test_the_edges_the_properties_found() -> None:
    for text in ("0", "0.0h", "9" * 400 + "h", "٣s", "1" * 5000):
        try:
            parse_duration(text)
        except TinyNASError as e:
            _one_line(e)
        else:
            raise AssertionError(f"{text[:20]!r} was taken as a duration")
