"""The board catalogue: ``devices/*.toml`` files loaded into frozen :class:`Device` records.

One TOML file describes one board; its file name is the board id. Builtin boards ship with the
package (``tinynas/_catalogue/`` in a wheel, ``<repo>/devices/`` in a source checkout). User files
from ``--devices-dir`` or ``$TINYNAS_DEVICES`` add boards, and replace a builtin board of the same
name. Every file is validated on load: a malformed one raises :class:`CatalogueError` naming the
file and the field.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from tinynas.errors import BoardNotFoundError, CatalogueError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

ENV_VAR = "TINYNAS_DEVICES"
CORES = ("cortex-m0plus", "cortex-m4f", "cortex-m7", "xtensa-lx7")
KERNEL_LIBRARIES = ("cmsis-nn", "esp-nn", "reference")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_USB_ID = re.compile(r"^[0-9A-F]{4}:[0-9A-F]{4}$")


@dataclass(frozen=True)
class OpLatencyCoefficients:
    """Cycle model of one op type: ``cycles = cycles_per_mac * MACs
    + cycles_per_output * output elements + cycles_per_op``."""

    cycles_per_mac: float
    cycles_per_output: float
    cycles_per_op: float


@dataclass(frozen=True)
class LatencyModel:
    """Per-op cycle coefficients of one board, keyed by TFLite builtin op name.

    Attributes:
        source: Where the coefficients come from (a calibration run, or "placeholder: ...").
        ops: Op name (``CONV_2D``, ...) to coefficients; always holds ``"default"``.
    """

    source: str
    ops: Mapping[str, OpLatencyCoefficients]

    def coefficients(self, op_name: str) -> OpLatencyCoefficients:
        """Coefficients of ``op_name``, or the ``"default"`` ones for an op without its own."""
        return self.ops.get(op_name, self.ops["default"])


@dataclass(frozen=True)
class Device:
    """One board of the catalogue. Sizes are in bytes; see ``devices/*.toml`` for the fields."""

    name: str
    title: str
    aliases: tuple[str, ...]
    mcu: str
    core: str
    clock_hz: int
    sram_bytes: int
    flash_bytes: int
    firmware_reserve_bytes: int
    runtime_reserve_bytes: int
    runtime: str
    kernel_library: str
    usb_ids: tuple[str, ...]
    usb_product: str
    pyocd_target: str
    serial_baud: int
    source: str
    latency: LatencyModel
    model_slot_address: int = 0  # flash address of the model slot; 0 = none

    @property
    def flash_budget_bytes(self) -> int:
        """Flash left for a model once the profiler firmware is in place."""
        return self.flash_bytes - self.firmware_reserve_bytes

    @property
    def ram_budget_bytes(self) -> int:
        """SRAM left for the TFLM tensor arena."""
        return self.sram_bytes - self.runtime_reserve_bytes

    def to_dict(self) -> dict[str, Any]:
        """All fields and both budgets as JSON-ready plain data."""
        data = asdict(self)
        data.update(aliases=list(self.aliases), usb_ids=list(self.usb_ids))
        data.update(
            flash_budget_bytes=self.flash_budget_bytes, ram_budget_bytes=self.ram_budget_bytes
        )
        return data


# ---- validation: each field has a description of what it must be and a predicate ------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list_of(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return False
        return len(set(value)) == len(value) and all(pattern.match(v) for v in value)

    return check


_Rule = tuple[str, Callable[[Any], bool]]
_TEXT: _Rule = ("a string", lambda v: isinstance(v, str))
_NONEMPTY: _Rule = ("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
_POSITIVE: _Rule = ("a positive integer", lambda v: _is_int(v) and v > 0)
_NON_NEGATIVE: _Rule = ("a non-negative integer", lambda v: _is_int(v) and v >= 0)
_NUMBER: _Rule = (
    "a finite non-negative number",
    lambda v: (isinstance(v, float) or _is_int(v)) and 0 <= v < math.inf,
)
_TABLE: _Rule = ("a table", lambda v: isinstance(v, dict))

# Every top-level key but "latency" (see _parse_latency); only model_slot_address is optional.
_FIELDS: dict[str, _Rule] = {
    "name": _NONEMPTY,
    "title": _NONEMPTY,
    "aliases": ("a list of distinct lowercase slugs", _is_list_of(_SLUG)),
    "mcu": _NONEMPTY,
    "core": ("one of " + ", ".join(CORES), lambda v: v in CORES),
    "clock_hz": _POSITIVE,
    "sram_bytes": _POSITIVE,
    "flash_bytes": _POSITIVE,
    "firmware_reserve_bytes": _NON_NEGATIVE,
    "runtime_reserve_bytes": _NON_NEGATIVE,
    "runtime": _NONEMPTY,
    "kernel_library": ("one of " + ", ".join(KERNEL_LIBRARIES), lambda v: v in KERNEL_LIBRARIES),
    "usb_ids": ('a list of distinct VID:PID strings like "0483:374B"', _is_list_of(_USB_ID)),
    "usb_product": _TEXT,
    "pyocd_target": _TEXT,
    "model_slot_address": _NON_NEGATIVE,
    "serial_baud": _POSITIVE,
    "source": _NONEMPTY,
}
_OPTIONAL = {"model_slot_address": 0}
_COEFFICIENTS = ("cycles_per_mac", "cycles_per_output", "cycles_per_op")


def _fail(path: str, field: str, expected: str, value: Any) -> CatalogueError:
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    return CatalogueError(f"{path}: field '{field}' must be {expected}, got {shown}")


def _field(path: str, table: dict[str, Any], key: str, rule: _Rule, prefix: str = "") -> Any:
    """The value of ``table[key]``, checked against ``rule``."""
    if key not in table:
        raise CatalogueError(f"{path}: field '{prefix}{key}' is missing")
    expected, ok = rule
    if not ok(table[key]):
        raise _fail(path, prefix + key, expected, table[key])
    return table[key]


def _table(
    path: str, table: dict[str, Any], key: str, known: tuple[str, ...], prefix: str = ""
) -> dict[str, Any]:
    """The sub-table ``table[key]``, with no keys outside ``known``."""
    value = _field(path, table, key, _TABLE, prefix)
    _reject_unknown(path, value, known, f"{prefix}{key}.")
    return value


def _reject_unknown(path: str, table: dict[str, Any], known: Any, prefix: str = "") -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise CatalogueError(f"{path}: unknown field '{prefix}{unknown[0]}'")


def _parse_latency(path: str, data: dict[str, Any]) -> LatencyModel:
    latency = _table(path, data, "latency", ("source", "ops"))
    source = _field(path, latency, "source", _NONEMPTY, "latency.")
    ops = _field(path, latency, "ops", _TABLE, "latency.")
    if "default" not in ops:
        raise CatalogueError(f"{path}: field 'latency.ops.default' is missing")
    coefficients = {}
    for op in ops:
        table = _table(path, ops, op, _COEFFICIENTS, "latency.ops.")
        prefix = f"latency.ops.{op}."
        values = [float(_field(path, table, k, _NUMBER, prefix)) for k in _COEFFICIENTS]
        coefficients[op] = OpLatencyCoefficients(*values)
    return LatencyModel(source, coefficients)


def _check_consistency(path: str, stem: str, device: Device) -> None:
    if device.name != stem:
        raise _fail(path, "name", f"the file stem '{stem}'", device.name)
    for reserve, size in (
        ("firmware_reserve_bytes", "flash_bytes"),
        ("runtime_reserve_bytes", "sram_bytes"),
    ):
        if getattr(device, reserve) >= getattr(device, size):
            raise _fail(path, reserve, f"less than {size}", getattr(device, reserve))


def parse_device(path: str, stem: str, text: str) -> Device:
    """Validate one TOML document and build its :class:`Device`.

    Args:
        path: The file's path, used in error messages.
        stem: The file name without ``.toml``; must equal the ``name`` field.
        text: The TOML text.

    Raises:
        CatalogueError: Bad TOML syntax, or a missing, unknown or ill-typed field.
    """
    try:
        data = {**_OPTIONAL, **tomllib.loads(text)}
    except tomllib.TOMLDecodeError as e:
        raise CatalogueError(f"{path}: not valid TOML: {e}") from e
    _reject_unknown(path, data, [*_FIELDS, "latency"])
    values = {key: _field(path, data, key, rule) for key, rule in _FIELDS.items()}
    values.update(aliases=tuple(values["aliases"]), usb_ids=tuple(values["usb_ids"]))
    device = Device(**values, latency=_parse_latency(path, data))
    _check_consistency(path, stem, device)
    return device


# ---- loading and lookup -------------------------------------------------------------------------


def _load_dir(root: Traversable | Path) -> dict[str, tuple[str, Device]]:
    """Board name -> (file path, device) for every ``*.toml`` file directly in ``root``."""
    boards: dict[str, tuple[str, Device]] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(".toml"):
            path, stem = str(entry), entry.name[: -len(".toml")]
            boards[stem] = (path, parse_device(path, stem, entry.read_text(encoding="utf-8")))
    return boards


def builtin_catalogue_dir() -> Traversable | Path:
    """Where the builtin board files are: in the wheel, or ``devices/`` of a source checkout."""
    packaged = resources.files("tinynas") / "_catalogue"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "devices"


@functools.lru_cache(maxsize=1)
def _builtin_boards() -> dict[str, tuple[str, Device]]:
    return _load_dir(builtin_catalogue_dir())  # callers copy it before changing it


def _user_dirs(devices_dir: str | Path | None) -> list[Path]:
    if devices_dir is not None:
        return [Path(devices_dir)]
    return [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]


def _check_aliases(boards: dict[str, tuple[str, Device]]) -> None:
    """Names and aliases must be unique; a clash is blamed on the later file (a user file)."""
    owner = {name: name for name in boards}
    for name, (path, device) in boards.items():
        for alias in device.aliases:
            if alias in owner:
                raise CatalogueError(
                    f"{path}: field 'aliases' must be unique across the catalogue, "
                    f'got "{alias}", already used by board {owner[alias]}'
                )
            owner[alias] = name


def load_catalogue(devices_dir: str | Path | None = None) -> dict[str, Device]:
    """Load the builtin boards plus the user's, sorted by name.

    Args:
        devices_dir: A folder of user ``*.toml`` files. Without it, the folders listed in
            ``$TINYNAS_DEVICES`` (``os.pathsep``-separated) are read. A user board replaces the
            builtin board (or the board of an earlier folder) of the same name.

    Returns:
        Board name -> :class:`Device`.

    Raises:
        CatalogueError: A malformed file, a missing folder, or an alias used twice.
    """
    boards = dict(_builtin_boards())
    for folder in _user_dirs(devices_dir):
        if not folder.is_dir():
            raise CatalogueError(f"devices directory '{folder}' does not exist or is not a folder")
        boards.update(_load_dir(folder))
    _check_aliases(boards)
    return {name: boards[name][1] for name in sorted(boards)}


def get_device(name_or_alias: str, devices_dir: str | Path | None = None) -> Device:
    """Look up a board by name or alias, ignoring case.

    Raises:
        BoardNotFoundError: No such board; the message suggests close names.
    """
    catalogue = load_catalogue(devices_dir)
    keys = {name.lower(): d for name, d in catalogue.items()}  # a file may be MyBoard.toml
    keys.update({alias.lower(): d for d in catalogue.values() for alias in d.aliases})
    wanted = name_or_alias.strip().lower()
    if wanted in keys:
        return keys[wanted]
    close = difflib.get_close_matches(wanted, list(keys), n=3, cutoff=0.75)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise BoardNotFoundError(
        f"board '{name_or_alias}' not found; {hint}run 'tinynas devices' for the list"
    )
