"""Whatever a board TOML file holds, reading it gives a Device or one CatalogueError naming the
file, never another exception (property-based)."""

from __future__ import annotations

import json
import math
from typing import Any

from helpers import DEVICES_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynas.devices import Device, parse_device
from tinynas.errors import CatalogueError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PATH = "boards/my-board.toml"
BASE = tomllib.loads((DEVICES_DIR / "nucleo-f446re.toml").read_text(encoding="utf-8"))
BASE.update(name="my-board", aliases=["my-board-alias"])
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

SCALARS = (st.booleans() | st.integers(-(2**70), 2**70) | st.integers(-3, 10**6)
           | st.floats(allow_nan=True) | st.text(max_size=12))  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=10,
)  # fmt: skip


def toml_value(value: Any) -> str:
    """``value`` as TOML (tables inline), as a hand-written file could hold it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's too, mostly
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(table: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in table.items())


def _read(text: str | bytes) -> None:
    """The property: a Device, or one CatalogueError that names the file."""
    try:
        device = parse_device(PATH, "my-board", text)
    except CatalogueError as e:
        assert str(e).startswith(f"{PATH}: ") and "\n" not in str(e), str(e)
        return
    assert isinstance(device, Device)
    assert device.ram_budget_bytes > 0 and device.flash_budget_bytes > 0
    assert all(math.isfinite(c.cycles_per_mac) for c in device.latency.ops.values())


def test_the_serialiser_writes_the_base_board() -> None:
    assert parse_device(PATH, "my-board", toml_document(BASE)).name == "my-board"


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_read_or_are_one_error(data: bytes) -> None:
    _read(data)


@SETTINGS
@given(st.dictionaries(st.text(max_size=10), VALUES, max_size=5))
def test_any_toml_document_reads_or_is_one_error(table: dict[str, Any]) -> None:
    _read(toml_document(table))


@SETTINGS
@given(st.data())
def test_boards_with_fields_replaced_read_or_are_one_error(data: Any) -> None:
    table = json.loads(json.dumps(BASE))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["field", "drop", "op", "coefficient"]))
        if where == "field":
            table[data.draw(st.sampled_from(sorted(table)))] = data.draw(VALUES)
        elif where == "drop":
            table.pop(data.draw(st.sampled_from(sorted(table))), None)
        elif isinstance(table.get("latency"), dict) and isinstance(
                table["latency"].get("ops"), dict):  # fmt: skip
            ops = table["latency"]["ops"]
            if where == "op":
                ops[data.draw(st.text(max_size=10))] = data.draw(VALUES)
            elif isinstance(ops.get("default"), dict):
                key = data.draw(st.sampled_from(["cycles_per_mac", "cycles_per_output",
                                                 "cycles_per_op"]))  # fmt: skip
                ops["default"][key] = data.draw(SCALARS)
    _read(toml_document(table))
