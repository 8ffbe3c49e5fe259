"""The architecture description: frozen dataclasses and their versioned JSON.

The template is μNAS's (Liberis et al. 2021, reference/search-and-metrics.md section 1):
N convolutional blocks joined in series or in parallel, each of 1-3 layers, an optional
pooling layer, 0-3 hidden dense layers and the classifier. A description says *what* the
network is; `tinynas.space.lower` turns it into the concrete op graph that the builders and
the estimators share.
"""

from __future__ import annotations

import hashlib
import json
import math
import reprlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tinynas.errors import SearchSpaceError

SCHEMA = "tinynas.arch/1"

LAYER_TYPES = ("conv2d", "dwconv2d", "1x1conv2d")
KERNEL_SIZES = (1, 3, 5, 7)
POOL_TYPES = ("avg", "max", "global")  # global: average over the whole feature map
GLOBAL_POOL_SIZE = 0  # the size field of a global pooling (the window is the map)
POOL_SIZES = (2, 4, 6)
MAX_BLOCKS = 10
MAX_LAYERS_PER_BLOCK = 3
MAX_DENSE = 3
MAX_FILTERS = 128
MAX_UNITS = 256
# An int8 input tensor sits whole in the board's SRAM: 2 MiB is above the largest SRAM of the
# catalogue (stm32h7b3i-dk, 1,376 KiB), so no microcontroller model takes a larger input.
MAX_INPUT_ELEMENTS = 2 * 1024 * 1024
# The classifier's int8 weights are classes x features bytes of flash: 10,000 classes is ten
# times ImageNet's and beyond any microcontroller classifier (tinynas.data refuses the same).
MAX_CLASSES = 10_000
# An architecture JSON is about 2 KB (10 blocks of 3 layers); a file far larger is not one, and
# is refused before it is read into memory.
MAX_JSON_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ConvLayer:
    """One layer of a convolutional block."""

    type: str = "conv2d"  # conv2d | dwconv2d (depth multiplier 1) | 1x1conv2d
    kernel_size: int = 3  # odd, clipped to the feature map as μNAS does; 1 for 1x1conv2d
    filters: int = 16  # output channels; 0 for dwconv2d, whose output has its input's channels
    stride: int = 1  # 1 or 2, 'same' padding as TensorFlow; 1 for 1x1conv2d
    batch_norm: bool = False  # folded into the convolution by the int8 converter
    relu: bool = True  # fused into the convolution by the int8 converter
    pre_pool: bool = False  # a 2x2 max pooling (stride 2, 'same') before the layer


@dataclass(frozen=True)
class ConvBlock:
    """1-3 layers; a parallel block branches from the input of the last serial block and is
    added to its output (shapes matched by max pooling and by its last layer's channels)."""

    layers: tuple[ConvLayer, ...]
    parallel: bool = False


@dataclass(frozen=True)
class Pooling:
    """The pooling between the convolutional part and the dense part: 'avg' or 'max' over
    size x size windows ('valid', stride = size), or 'global': the average over the whole
    feature map (global average pooling, as MobileNets and MLPerf Tiny's KWS model end), whose
    size is 0."""

    type: str = "avg"
    size: int = 2


@dataclass(frozen=True)
class Architecture:
    """A candidate network for an input shape (H, W, C), (L, C) or (L,) and a class count."""

    input_shape: tuple[int, ...]
    num_classes: int
    blocks: tuple[ConvBlock, ...] = ()
    pooling: Pooling | None = None
    dense: tuple[int, ...] = ()  # units of the hidden dense layers, each followed by ReLU
    schema: str = field(default=SCHEMA, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema"] = SCHEMA
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @property
    def content_hash(self) -> str:
        """A stable id: sha256 of the canonical form's compact JSON, first 16 hex digits."""
        text = json.dumps(canonical(self).to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: Any) -> Architecture:
        return _from_dict(d)

    @classmethod
    def from_json(cls, text: str | bytes) -> Architecture:
        """The architecture of a JSON document (text, or UTF-8 bytes).

        Raises:
            SearchSpaceError: Not UTF-8, not JSON (with the line and column), nested deeper
                than the JSON reader allows, or not an architecture.
        """
        return _from_dict(_json(text))


def read_architecture(path: str | Path) -> Architecture:
    """The architecture of a JSON file, checked against every rule of the space.

    Raises:
        SearchSpaceError: The file cannot be read, is too large, is not UTF-8 JSON, or holds no
            valid architecture; the message starts with the path.
    """
    from tinynas.space._validate import validate

    path = Path(path)
    data = _read_bounded(path, MAX_JSON_BYTES, "architecture",
                         ", too large for an architecture JSON (tinynas arch sample --out "
                         "writes one)")  # fmt: skip
    try:
        return validate(Architecture.from_json(data))
    except SearchSpaceError as e:
        raise SearchSpaceError(f"{path}: {e}") from None


MAX_JSONL_BYTES = 64 * 1024 * 1024  # tens of thousands of architectures


def read_architecture_lines(path: str | Path) -> list[tuple[int, Architecture]]:
    """The architectures of a JSON Lines file (one tinynas.arch/1 document per line, blank
    lines skipped), each checked against every rule of the space, with its line number.

    Raises:
        SearchSpaceError: The file cannot be read, is too large or holds no architecture, or a
            line is not a valid architecture; the message names the path and the line.
    """
    from tinynas.space._validate import validate

    path = Path(path)
    data = _read_bounded(path, MAX_JSONL_BYTES, "architectures",
                         "; split it into smaller files of one architecture JSON per line")
    archs = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            archs.append((number, validate(Architecture.from_json(line))))
        except SearchSpaceError as e:
            raise SearchSpaceError(f"{path} line {number}: {e}") from None
    if not archs:
        raise SearchSpaceError(f"{path} holds no architecture; write one tinynas.arch/1 JSON "
                               "per line (tinynas arch sample --json prints one)")  # fmt: skip
    return archs


def data_mismatch(arch: Architecture, input_shape: tuple[int, ...],
                  num_classes: int) -> str | None:
    """Why `arch` cannot take a dataset's images of `input_shape` and `num_classes` classes
    (the resolution may differ, the rank and channels may not), or None."""
    if len(arch.input_shape) != len(input_shape) or arch.input_shape[-1] != input_shape[-1]:
        return (f"field 'input_shape' is {list(arch.input_shape)}; the dataset's images are "
                f"{list(input_shape)} (the resolution may differ, the rank and channels may "
                "not)")
    if arch.num_classes != num_classes:
        return f"field 'num_classes' is {arch.num_classes}; the dataset has {num_classes} classes"
    return None


def _read_bounded(path: Path, limit: int, what: str, too_large: str) -> bytes:
    """The bytes of `path`, refused in one line when it cannot be read or holds more than
    `limit` bytes (`too_large` ends that message: what to do then)."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise SearchSpaceError(f"cannot read {what} '{path}': {e.strerror or e}") from None
    if len(data) > limit:
        raise SearchSpaceError(f"{path}: over {limit:,} bytes{too_large}")
    return data


def _json(text: str | bytes) -> Any:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise SearchSpaceError(
                f"architecture JSON is not UTF-8 text (byte 0x{e.object[e.start]:02x} at "
                f"offset {e.start}); save it as UTF-8"
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SearchSpaceError(f"architecture JSON is not valid JSON: {e}") from None
    except RecursionError:  # the JSON reader recurses once per nested array or object
        raise SearchSpaceError(
            "architecture JSON nests arrays or objects deeper than the JSON reader allows; an "
            "architecture nests 4 levels (tinynas arch sample --json prints one)"
        ) from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise SearchSpaceError(f"architecture JSON is not usable: {e}") from None


def canonical(arch: Architecture) -> Architecture:
    """The normal form: fields a layer type ignores are set to fixed values, so two
    descriptions of the same network have the same hash."""
    blocks = tuple(
        replace(b, layers=tuple(_canonical_layer(l) for l in b.layers)) for b in arch.blocks
    )
    return replace(arch, blocks=blocks)


def _canonical_layer(layer: ConvLayer) -> ConvLayer:
    if layer.type == "1x1conv2d":
        return replace(layer, kernel_size=1, stride=1)
    if layer.type == "dwconv2d":
        return replace(layer, filters=0)
    return layer


# --- JSON parsing with a clear reason for every malformed field ---------------------------

def _from_dict(d: Any) -> Architecture:
    if not isinstance(d, dict):
        raise SearchSpaceError("architecture JSON must be an object")
    schema = d.get("schema")
    if schema != SCHEMA:
        raise SearchSpaceError(f"architecture schema is {_short(schema)}; expected {SCHEMA!r}")
    known = {"schema", "input_shape", "num_classes", "blocks", "pooling", "dense"}
    _no_unknown(d, known, "architecture")
    pooling = _get(d, "pooling", "architecture")
    return Architecture(
        input_shape=tuple(_ints(d, "input_shape", "architecture")),
        num_classes=_int(d, "num_classes", "architecture"),
        blocks=tuple(_block(b, i) for i, b in enumerate(_list(d, "blocks", "architecture"))),
        pooling=None if pooling is None else _pooling(pooling),
        dense=tuple(_ints(d, "dense", "architecture")),
    )


def _block(b: Any, i: int) -> ConvBlock:
    where = f"blocks[{i}]"
    if not isinstance(b, dict):
        raise SearchSpaceError(f"{where} must be an object")
    _no_unknown(b, {"layers", "parallel"}, where)
    layers = tuple(_layer(l, f"{where}.layers[{j}]")
                   for j, l in enumerate(_list(b, "layers", where)))
    return ConvBlock(layers=layers, parallel=_bool(b, "parallel", where))


def _layer(l: Any, where: str) -> ConvLayer:
    if not isinstance(l, dict):
        raise SearchSpaceError(f"{where} must be an object")
    _no_unknown(l, set(ConvLayer.__dataclass_fields__), where)
    layer_type = l.get("type")
    if not isinstance(layer_type, str):
        raise SearchSpaceError(f"{where}.type must be a string, got {_short(layer_type)}")
    return ConvLayer(
        type=layer_type,
        kernel_size=_int(l, "kernel_size", where),
        filters=_int(l, "filters", where),
        stride=_int(l, "stride", where),
        batch_norm=_bool(l, "batch_norm", where),
        relu=_bool(l, "relu", where),
        pre_pool=_bool(l, "pre_pool", where),
    )


def _pooling(p: Any) -> Pooling:
    if not isinstance(p, dict):
        raise SearchSpaceError("pooling must be an object or null")
    _no_unknown(p, {"type", "size"}, "pooling")
    pool_type = p.get("type")
    if not isinstance(pool_type, str):
        raise SearchSpaceError(f"pooling.type must be a string, got {_short(pool_type)}")
    return Pooling(type=pool_type, size=_int(p, "size", "pooling"))


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 40, 40


def _short(value: Any) -> str:
    """A value as an error message shows it: a few items, a short string, a huge int by its
    size (Python refuses to print an int of more than 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"an integer of {int(math.log10(abs(value))) + 1} digits"
    try:
        return _REPR.repr(value)
    except ValueError:  # a huge int inside a list
        return f"a {type(value).__name__}"


def _no_unknown(d: dict, known: set[str], where: str) -> None:
    extra = sorted(set(d) - known)
    if extra:
        names = [k[:40] if isinstance(k, str) else _short(k) for k in extra[:5]]
        shown = ", ".join(names) + (", ..." if len(extra) > 5 else "")
        raise SearchSpaceError(f"{where} has unknown field(s) {shown}")


def _get(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise SearchSpaceError(f"{where} is missing field '{key}'")
    return d[key]


def _int(d: dict, key: str, where: str) -> int:
    v = _get(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int):
        raise SearchSpaceError(f"{where}.{key} must be an integer, got {_short(v)}")
    return v


def _bool(d: dict, key: str, where: str) -> bool:
    v = _get(d, key, where)
    if not isinstance(v, bool):
        raise SearchSpaceError(f"{where}.{key} must be true or false, got {_short(v)}")
    return v


def _list(d: dict, key: str, where: str) -> list:
    v = _get(d, key, where)
    if not isinstance(v, list):
        raise SearchSpaceError(f"{where}.{key} must be a list, got {_short(v)}")
    return v


def _ints(d: dict, key: str, where: str) -> list[int]:
    v = _list(d, key, where)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise SearchSpaceError(f"{where}.{key} must be a list of integers, got {_short(v)}")
    return v
