"""The board catalogue: ``devices/*.toml`` files loaded into frozen :class:`Device` records.

One TOML file describes one board; its file name is the board id. Builtin boards ship with the
package (``tinynas/_catalogue/`` in a wheel, ``<repo>/devices/`` in a source checkout). User files
from ``--devices-dir`` or ``$TINYNAS_DEVICES`` add boards, and replace a builtin board of the same
name. Every file is validated on load: a malformed one raises :class:`CatalogueError` naming the
file and the field.

A malformed *user* file breaks only its own board: asking for that board (by its file stem, or
by the name or an alias the file gives) raises the file's error, while any other board is found
as usual, with one ``warning:`` line on stderr naming the unreadable file. Listing the whole
catalogue (:func:`read_catalogue`, ``tinynas devices``) gives the boards that loaded and the
unreadable files beside them. A malformed *builtin* file is a broken installation: it raises.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
import reprlib
import sys
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
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")  # matched whole (fullmatch): no trailing newline
_USB_ID = re.compile(r"[0-9A-F]{4}:[0-9A-F]{4}")
# A board file is a page of TOML (about 2 KB); a file far larger is not one, and is refused
# before it is read into memory.
MAX_FILE_BYTES = 1024 * 1024
_INT64_MAX = 2**63 - 1  # TOML integers are 64-bit (toml.io); Python's reader takes any size


@dataclass(frozen=True)
class OpLatencyCoefficients:
    """Cycle model of one op type: ``cycles = cycles_per_mac * MACs
    + cycles_per_output * output elements + cycles_per_window_element * window elements
    + cycles_per_op`` (window elements: see tinynas/estimators/_latency.py)."""

    cycles_per_mac: float
    cycles_per_output: float
    cycles_per_op: float
    cycles_per_window_element: float = 0.0  # optional in the TOML


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
    """A TOML integer: 64-bit, so that it is also a finite float."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _INT64_MAX


def _is_list_of(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return False
        return len(set(value)) == len(value) and all(pattern.fullmatch(v) for v in value)

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
_OPTIONAL_COEFFICIENTS = ("cycles_per_window_element",)


def _shown(value: Any) -> str:
    """A value as one short line: strings quoted and escaped, long ones cut."""
    if isinstance(value, str):
        text = json.dumps(value[:60], ensure_ascii=False)
        return text if len(value) <= 60 else text[:-1] + '..."'
    return reprlib.repr(value).replace("\n", "\\n")


def _name(field: str) -> str:
    """A field's dotted name for a message; a key of odd characters (TOML quotes any) is
    escaped, so that the message stays one line."""
    return field if field.isprintable() and len(field) <= 80 else json.dumps(field[:80])[1:-1]


def _fail(path: str, field: str, expected: str, value: Any) -> CatalogueError:
    return CatalogueError(
        f"{path}: field '{_name(field)}' must be {expected}, got {_shown(value)}"
    )


def _field(path: str, table: dict[str, Any], key: str, rule: _Rule, prefix: str = "") -> Any:
    """The value of ``table[key]``, checked against ``rule``."""
    if key not in table:
        raise CatalogueError(f"{path}: field '{_name(prefix + key)}' is missing")
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
        raise CatalogueError(f"{path}: unknown field '{_name(prefix + unknown[0])}'")


def _parse_latency(path: str, data: dict[str, Any]) -> LatencyModel:
    latency = _table(path, data, "latency", ("source", "ops"))
    source = _field(path, latency, "source", _NONEMPTY, "latency.")
    ops = _field(path, latency, "ops", _TABLE, "latency.")
    if "default" not in ops:
        raise CatalogueError(f"{path}: field 'latency.ops.default' is missing")
    coefficients = {}
    for op in ops:
        table = _table(path, ops, op, _COEFFICIENTS + _OPTIONAL_COEFFICIENTS, "latency.ops.")
        prefix = f"latency.ops.{op}."
        values = [float(_field(path, table, k, _NUMBER, prefix)) for k in _COEFFICIENTS]
        values += [float(_field(path, table, k, _NUMBER, prefix)) if k in table else 0.0
                   for k in _OPTIONAL_COEFFICIENTS]  # fmt: skip
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


def parse_device(path: str, stem: str, text: str | bytes) -> Device:
    """Validate one TOML document and build its :class:`Device`.

    Args:
        path: The file's path, used in error messages.
        stem: The file name without ``.toml``; must equal the ``name`` field.
        text: The TOML text, or the file's bytes (UTF-8).

    Raises:
        CatalogueError: Not UTF-8, bad TOML syntax, or a missing, unknown or ill-typed field.
    """
    return _device(path, stem, _toml(path, text))


def _toml(path: str, text: str | bytes) -> dict[str, Any]:
    """The TOML document of a board file, or a CatalogueError naming the file (and the place
    where the reader gives one)."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CatalogueError(
                f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                "save the board file as UTF-8"
            ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogueError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise CatalogueError(
            f"{path}: not a board file: its arrays or tables nest deeper than the TOML reader "
            "allows (a board file nests 3 levels)"
        ) from None


def _device(path: str, stem: str, document: dict[str, Any]) -> Device:
    data = {**_OPTIONAL, **document}
    _reject_unknown(path, data, [*_FIELDS, "latency"])
    values = {key: _field(path, data, key, rule) for key, rule in _FIELDS.items()}
    values.update(aliases=tuple(values["aliases"]), usb_ids=tuple(values["usb_ids"]))
    device = Device(**values, latency=_parse_latency(path, data))
    _check_consistency(path, stem, device)
    return device


# ---- loading and lookup -------------------------------------------------------------------------


@dataclass(frozen=True)
class UnreadableBoard:
    """A user board file that could not be loaded.

    Attributes:
        path: The file.
        stem: Its name without ``.toml``: the board it would define.
        error: Why it is unreadable (the message names the file).
        names: The lowercase names it answers to: its stem, the ``name`` and ``aliases`` it
            gives (when its TOML could be read), and those of the board it would replace.
    """

    path: str
    stem: str
    error: CatalogueError
    names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Catalogue:
    """The boards that loaded (by name, sorted) and the user files that did not."""

    boards: dict[str, Device]
    unreadable: tuple[UnreadableBoard, ...] = ()

    def warning(self) -> str | None:
        """One ``warning:`` line naming the unreadable files; None when there are none."""
        if not self.unreadable:
            return None
        others = [u.path for u in self.unreadable[1:]]
        also = f"; also unreadable: {', '.join(others)}" if others else ""
        return (f"warning: skipped a board file that does not load: "
                f"{self.unreadable[0].error}{also} (fix or remove the file)")


_Entry = tuple[str, Device]  # (file path, board)


def _read_file(entry: Traversable | Path) -> Device | UnreadableBoard:
    """The board of one ``*.toml`` file, or why it is unreadable."""
    path, stem = str(entry), entry.name[: -len(".toml")]
    names = {stem.lower()}
    try:
        document = _toml(path, _read_bytes(entry, path))
        names |= _claimed_names(document)
        return _device(path, stem, document)
    except CatalogueError as e:
        return UnreadableBoard(path, stem, e, frozenset(names))


def _claimed_names(document: dict[str, Any]) -> set[str]:
    """The name and aliases a (possibly malformed) board document gives, lowercased."""
    name, aliases = document.get("name"), document.get("aliases")
    found = {name} if isinstance(name, str) else set()
    found |= {a for a in aliases if isinstance(a, str)} if isinstance(aliases, list) else set()
    return {n.strip().lower() for n in found}


def _read_bytes(entry: Traversable | Path, path: str) -> bytes:
    try:
        with entry.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise CatalogueError(f"{path}: cannot read the board file: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueError(f"{path}: over {MAX_FILE_BYTES:,} bytes, too large for a board "
                             "file (a page of TOML like devices/*.toml)")  # fmt: skip
    return data


def _toml_files(root: Traversable | Path) -> list[Traversable | Path]:
    return [e for e in sorted(root.iterdir(), key=lambda e: e.name)
            if e.name.endswith(".toml") and e.is_file()]  # fmt: skip


def builtin_catalogue_dir() -> Traversable | Path:
    """Where the builtin board files are: in the wheel, or ``devices/`` of a source checkout."""
    packaged = resources.files("tinynas") / "_catalogue"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "devices"


@functools.lru_cache(maxsize=1)
def _builtin_boards() -> dict[str, _Entry]:
    """The builtin boards; a malformed builtin file raises (the installation is broken)."""
    boards: dict[str, _Entry] = {}
    for entry in _toml_files(builtin_catalogue_dir()):
        board = _read_file(entry)
        if isinstance(board, UnreadableBoard):
            raise board.error
        boards[board.name] = (str(entry), board)
    _check_aliases(boards)
    return boards  # callers copy it before changing it


def _user_dirs(devices_dir: str | Path | None) -> list[Path]:
    if devices_dir is not None:
        return [Path(devices_dir)]
    return [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]


def _alias_clash(path: str, alias: str, owner: str) -> CatalogueError:
    return CatalogueError(
        f"{path}: field 'aliases' must be unique across the catalogue, "
        f'got "{alias}", already used by board {owner}'
    )


def _check_aliases(boards: dict[str, _Entry]) -> None:
    """Names and aliases of the builtin boards must be unique."""
    owner = {name: name for name in boards}
    for name, (path, device) in boards.items():
        for alias in device.aliases:
            if alias in owner:
                raise _alias_clash(path, alias, owner[alias])
            owner[alias] = name


def read_catalogue(devices_dir: str | Path | None = None) -> Catalogue:
    """The builtin boards plus the user's, and the user files that could not be loaded.

    Args:
        devices_dir: A folder of user ``*.toml`` files. Without it, the folders listed in
            ``$TINYNAS_DEVICES`` (``os.pathsep``-separated) are read. A user board replaces the
            builtin board (or the board of an earlier folder) of the same name; so does a
            malformed user file, which then stands for that board as unreadable.

    Returns:
        A :class:`Catalogue`. A user file that is malformed, or whose name or an alias is
        already taken, is in ``unreadable`` instead of ``boards``.

    Raises:
        CatalogueError: A user folder is missing, or a builtin file is malformed.
    """
    builtin = _builtin_boards()
    boards: dict[str, _Entry] = dict(builtin)
    unreadable: dict[str, UnreadableBoard] = {}
    for folder in _user_dirs(devices_dir):
        if not folder.is_dir():
            raise CatalogueError(f"devices directory '{folder}' does not exist or is not a folder")
        for entry in _toml_files(folder):
            board = _read_file(entry)
            stem = entry.name[: -len(".toml")]
            replaced = boards.pop(stem, None)
            unreadable.pop(stem, None)
            if isinstance(board, Device):
                boards[stem] = (str(entry), board)
            else:
                inherited = {stem.lower()} | _names(replaced[1]) if replaced else set()
                unreadable[stem] = UnreadableBoard(board.path, stem, board.error,
                                                   board.names | inherited)  # fmt: skip
    _drop_clashing(boards, builtin, unreadable)
    return Catalogue(
        {name: boards[name][1] for name in sorted(boards)},
        tuple(unreadable[stem] for stem in sorted(unreadable)),
    )


def _names(device: Device) -> set[str]:
    return {device.name.lower(), *(a.lower() for a in device.aliases)}


def _drop_clashing(boards: dict[str, _Entry], builtin: dict[str, _Entry],
                   unreadable: dict[str, UnreadableBoard]) -> None:  # fmt: skip
    """Moves a user board whose name or an alias is taken (by a builtin board, or by a user
    board of an earlier folder or file) to ``unreadable``."""
    user = [name for name in boards if boards[name] is not builtin.get(name)]
    owner: dict[str, str] = {}
    for name in [n for n in boards if n not in user] + user:
        path, device = boards[name]
        for key in (name, *device.aliases):
            if key in owner:
                error = _alias_clash(path, key, owner[key]) if key != name else CatalogueError(
                    f"{path}: field 'name' must be unique across the catalogue, got "
                    f'"{name}", already an alias of board {owner[key]}'
                )
                unreadable[name] = UnreadableBoard(path, name, error, frozenset({name.lower()}))
                del boards[name]
                break
        else:
            owner.update({key: name for key in (name, *device.aliases)})


_warned: set[str] = set()  # unreadable files already named on stderr by this process


def _warn_once(catalogue: Catalogue) -> None:
    """Names the catalogue's unreadable files in one line on stderr, once per process."""
    fresh = [u for u in catalogue.unreadable if u.path not in _warned]
    line = Catalogue({}, tuple(fresh)).warning()
    if line is not None:
        _warned.update(u.path for u in fresh)
        print(line, file=sys.stderr)


def load_catalogue(devices_dir: str | Path | None = None) -> dict[str, Device]:
    """The boards that load: builtin plus the user's, sorted by name (see
    :func:`read_catalogue`). Unreadable user files are left out and named in one ``warning:``
    line on stderr.

    Raises:
        CatalogueError: A user folder is missing, or a builtin file is malformed.
    """
    catalogue = read_catalogue(devices_dir)
    _warn_once(catalogue)
    return catalogue.boards


def get_device(name_or_alias: str, devices_dir: str | Path | None = None) -> Device:
    """Look up a board by name or alias, ignoring case.

    Raises:
        CatalogueError: The board asked for is in a user file that is malformed (another
            board is found, with one ``warning:`` line on stderr naming that file).
        BoardNotFoundError: No such board; the message suggests close names.
    """
    catalogue = read_catalogue(devices_dir)
    keys = {name.lower(): d for name, d in catalogue.boards.items()}  # a file may be MyBoard.toml
    keys.update({alias.lower(): d for d in catalogue.boards.values() for alias in d.aliases})
    wanted = name_or_alias.strip().lower()
    if wanted in keys:
        _warn_once(catalogue)
        return keys[wanted]
    for bad in catalogue.unreadable:
        if wanted in bad.names:
            raise bad.error
    close = difflib.get_close_matches(wanted, list(keys), n=3, cutoff=0.75)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    skipped = (f"; {len(catalogue.unreadable)} board file(s) could not be read, the first: "
               f"{catalogue.unreadable[0].path}") if catalogue.unreadable else ""  # fmt: skip
    raise BoardNotFoundError(
        f"board '{name_or_alias}' not found{skipped}; {hint}run 'tinynas devices' for the list"
    )
