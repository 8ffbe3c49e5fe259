"""Units of the command line and of printed figures: sizes, durations, latencies and counts.

Size strings: ``65536``, ``64KB``, ``64KiB``, ``1.5MB``, ``2MiB``.

Decimal and binary prefixes mean what the standards say (IEC 80000-13), so that a limit is
never off by 2.4 %:

=========  ===============  ==========================
unit       bytes            example
=========  ===============  ==========================
(none), B  1                ``65536``, ``65536B``
KB, kB     1,000            ``64KB`` = 64,000 bytes
KiB        1,024            ``64KiB`` = 65,536 bytes
MB         1,000,000        ``1.5MB`` = 1,500,000 bytes
MiB        1,048,576        ``2MiB`` = 2,097,152 bytes
=========  ===============  ==========================

Units are matched without regard to case (``kb``, ``KB`` and ``kB`` are all 1,000 bytes;
``kib`` is 1,024). A fraction is accepted when it comes to a whole number of bytes
(``0.5KiB`` = 512). Anything else (``64K``, ``-1``, ``1e6``, ``64 GB``, ``0``) is refused
with a :class:`SizeError` that says what is accepted.

Duration strings: ``90`` or ``90s``, ``10m``, ``1.5h`` (seconds, minutes, hours).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from tinynas.errors import TinyNASError

UNIT_BYTES = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
_SIZE = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+) ?(?P<unit>[A-Za-z]*)$")
_HELP = "give bytes with an optional unit: 65536, 64KB (64,000 B), 64KiB (65,536 B), 1.5MB, 2MiB"


class SizeError(TinyNASError, ValueError):
    """A size string that is not a positive whole number of bytes in a known unit."""


def parse_size(text: str | int) -> int:
    """Bytes of a size string.

    Args:
        text: ``"65536"``, ``"64KB"``, ``"64 KiB"``, ``"1.5MB"``, ``"2MiB"``, or an int.

    Returns:
        The size in bytes, a positive integer.

    Raises:
        SizeError: Not a number with a known unit, not a whole number of bytes, or not positive.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return _positive(text, str(text))
    if not isinstance(text, str):
        raise SizeError(f"size {_shown(text)} is not a size; {_HELP}")
    match = _SIZE.match(text.strip())
    if match is None:
        raise SizeError(f"size {_shown(text)} is not a size; {_HELP}")
    unit = match["unit"].lower()
    if unit not in UNIT_BYTES:
        unknown = _shown(match["unit"])
        raise SizeError(f"size {_shown(text)} has an unknown unit {unknown}; {_HELP}")
    size = Decimal(match["number"]) * UNIT_BYTES[unit]
    if size != size.to_integral_value():
        raise SizeError(f"size {_shown(text)} is {str(size)[:40]} bytes, not a whole number of "
                        f"bytes; {_HELP}")
    return _positive(int(size), text)


def _positive(size_bytes: int, text: str) -> int:
    if size_bytes <= 0:
        raise SizeError(f"size {_shown(text)} must be more than 0 bytes; {_HELP}")
    return size_bytes


def format_size(size_bytes: float) -> str:
    """``53,936 B (52.7 KiB)``: exact bytes first, a binary-prefixed figure for the eye."""
    if abs(size_bytes) < 1024:
        return f"{size_bytes:,.0f} B"
    if abs(size_bytes) < 1024**2:
        return f"{size_bytes:,.0f} B ({size_bytes / 1024:,.1f} KiB)"
    return f"{size_bytes:,.0f} B ({size_bytes / 1024**2:,.2f} MiB)"


_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smh]?)\s*")  # ASCII digits only
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds of a duration string: ``"90"`` or ``"90s"``, ``"10m"``, ``"1.5h"``.

    Returns:
        A positive, finite number of seconds.

    Raises:
        TinyNASError: Not a number with an optional s, m or h, zero, or too long to count.
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise TinyNASError(f"time budget {_shown(text)} is not a duration; use e.g. 90s, 10m "
                           "or 2h")  # fmt: skip
    seconds = float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]
    if not 0 < seconds < math.inf:
        raise TinyNASError(f"time budget {_shown(text)} must be more than 0 s and finite; use "
                           "e.g. 90s, 10m or 2h")  # fmt: skip
    return seconds


def _shown(text: object) -> str:
    """``text`` quoted for a message, cut short when long."""
    shown = repr(text)
    return shown if len(shown) <= 42 else shown[:40] + "..."


def format_latency(latency_ms: float) -> str:
    """``12.34 ms``: latencies are printed to a hundredth of a millisecond."""
    return f"{latency_ms:.2f} ms"


def format_seconds(seconds: float) -> str:
    """``42 s``: compute times are printed to the second."""
    return f"{seconds:.0f} s"


def format_duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``1 h 40 min``: a stage's length, to the second under two
    minutes and to the minute above."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def format_counts(names: Iterable[str]) -> str:
    """``"LSTM x2, CUSTOM:Mine"``: each name once, in order of first occurrence, with its
    count when it occurs more than once."""
    return ", ".join(name if n == 1 else f"{name} x{n}" for name, n in Counter(names).items())
