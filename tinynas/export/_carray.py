"""``model_data.cc`` / ``model_data.h``: an int8 model as a C++ array a firmware links.

The array is ``alignas(16)`` (TFLM reads the flatbuffer in place and its tensors' data must be
aligned), ``const`` (so it stays in flash), and declared ``extern "C"`` in the header so that C
sources can link it too. Symbol names come from the model's name::

    name "digits_1a2b3c4d"  ->  digits_1a2b3c4d_model_data[]          the .tflite bytes
                                digits_1a2b3c4d_model_data_len        their count
                                DIGITS_1A2B3C4D_INPUT_SCALE, ..._INPUT_ZERO_POINT, ...
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

ALIGNMENT_BYTES = 16
BYTES_PER_LINE = 12
SOURCE_NAME = "model_data.cc"
HEADER_NAME = "model_data.h"
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while class namespace new delete template this".split()
)


@dataclass(frozen=True)
class ModelFacts:
    """What the header tells a firmware besides the bytes (all read from the converted model)."""

    input_shape: tuple[int, ...]
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_scale: float
    output_zero_point: int
    arena_bytes: int  # measured TFLM arena, x86 reference build
    # estimated TFLM + CMSIS-NN arena on a Cortex-M4/M7 (None: no estimate for this model)
    arena_cortex_m_bytes: int | None = None


@dataclass(frozen=True)
class CArray:
    """The two files written and the symbols they define."""

    source_path: Path
    header_path: Path
    data_symbol: str
    length_symbol: str
    macro_prefix: str


def c_identifier(name: str) -> str:
    """A C identifier from a model name: other characters become ``_``, a leading digit or a
    keyword gets a ``model_`` prefix, and leading, trailing and doubled underscores (reserved
    in C++) are dropped."""
    ident = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", name.strip())).strip("_")
    if not ident or ident[0].isdigit() or ident in _C_KEYWORDS or keyword.iskeyword(ident):
        ident = f"model_{ident}".rstrip("_")
    return ident


def _hex_lines(data: bytes) -> list[str]:
    lines = []
    for start in range(0, len(data), BYTES_PER_LINE):
        chunk = data[start : start + BYTES_PER_LINE]
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
    return lines


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def header_text(data: bytes, ident: str, facts: ModelFacts) -> str:
    """The header: the array's declaration and the input/output quantisation as macros."""
    macro = ident.upper()
    guard = f"TINYNAS_{macro}_MODEL_DATA_H_"
    return "\n".join([
        f"// {ident}: int8 TFLite model, {len(data):,} bytes, "
        f"sha256 {hashlib.sha256(data).hexdigest()}.",
        "// Written by `tinynas export`; regenerate it rather than editing it.",
        f"// Input {_shape(facts.input_shape)} int8: q = round(x / {macro}_INPUT_SCALE)"
        f" + {macro}_INPUT_ZERO_POINT, clipped to [-128, 127].",
        f"// Output {_shape(facts.output_shape)} int8: x = (q - {macro}_OUTPUT_ZERO_POINT)"
        f" * {macro}_OUTPUT_SCALE.",
        f"#ifndef {guard}", f"#define {guard}", "",
        "#include <stdint.h>", "",
        f"#define {macro}_INPUT_SCALE {facts.input_scale!r}f",
        f"#define {macro}_INPUT_ZERO_POINT ({facts.input_zero_point})",
        f"#define {macro}_OUTPUT_SCALE {facts.output_scale!r}f",
        f"#define {macro}_OUTPUT_ZERO_POINT ({facts.output_zero_point})",
        "// Tensor arena TFLM allocated for this model, measured with the x86 reference kernels",
        "// (64-bit pointers, no scratch buffers).",
        f"#define {macro}_ARENA_BYTES {facts.arena_bytes}",
        *_cortex_m_lines(macro, facts), "",
        "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
        f"// The .tflite flatbuffer, {ALIGNMENT_BYTES}-byte aligned, in flash.",
        f"extern const unsigned char {ident}_model_data[];",
        f"extern const unsigned int {ident}_model_data_len;", "",
        "#ifdef __cplusplus", "}", "#endif", "",
        f"#endif  // {guard}", "",
    ])  # fmt: skip


def _cortex_m_lines(macro: str, facts: ModelFacts) -> list[str]:
    if facts.arena_cortex_m_bytes is None:
        return []
    return ["// The arena TFLM with CMSIS-NN kernels allocates on a Cortex-M4 or M7 (estimated",
            "// from TFLM's 32-bit structures and CMSIS-NN's scratch buffers; give the",
            "// interpreter this much on such a board).",
            f"#define {macro}_ARENA_BYTES_CORTEX_M {facts.arena_cortex_m_bytes}"]


def source_text(data: bytes, ident: str, header_name: str = HEADER_NAME) -> str:
    """The C++ source that defines the aligned array and its length."""
    return "\n".join([
        f"// {ident}: int8 TFLite model, {len(data):,} bytes. Written by `tinynas export`.",
        f'#include "{header_name}"', "",
        f"alignas({ALIGNMENT_BYTES}) const unsigned char {ident}_model_data[] = {{",
        *_hex_lines(data),
        "};", "",
        f"const unsigned int {ident}_model_data_len = {len(data)};", "",
    ])  # fmt: skip


def write_c_array(data: bytes, out_dir: str | Path, name: str, facts: ModelFacts) -> CArray:
    """Write ``model_data.cc`` and ``model_data.h`` of `data` into `out_dir`.

    Args:
        data: The .tflite bytes.
        out_dir: The folder (created when missing).
        name: The model's name; symbols are derived from it with :func:`c_identifier`.
        facts: Quantisation and arena figures for the header's macros.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ident = c_identifier(name)
    source, header = out / SOURCE_NAME, out / HEADER_NAME
    header.write_text(header_text(data, ident, facts), encoding="utf-8")
    source.write_text(source_text(data, ident), encoding="utf-8")
    return CArray(source, header, f"{ident}_model_data", f"{ident}_model_data_len", ident.upper())
