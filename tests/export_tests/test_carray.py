"""model_data.cc/.h: valid identifiers, and an exported model's array compiled and linked by real
compilers (the host g++, and arm-none-eabi-g++ for a Cortex-M4 where it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tinynas.export import (
    ALIGNMENT_BYTES,
    ExportResult,
    ModelFacts,
    c_identifier,
    header_text,
    source_text,
)

FACTS = ModelFacts((1, 8, 8, 1), 0.00390625, -128, (1, 10), 0.125, 7, 3184)


@pytest.mark.parametrize(
    ("name", "ident"),
    [
        ("digits_c8306096", "digits_c8306096"),
        ("fashion-mnist_1a2b", "fashion_mnist_1a2b"),
        ("kws ref model.v2", "kws_ref_model_v2"),
        ("1st-model", "model_1st_model"),
        ("__tricky__name__", "tricky_name"),
        ("a__b", "a_b"),
        ("int", "model_int"),
        ("class", "model_class"),
        ("---", "model"),
    ],
)
def test_c_identifier(name: str, ident: str) -> None:
    assert c_identifier(name) == ident
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", ident) and "__" not in ident


def test_source_holds_every_byte_in_order_and_aligned() -> None:
    data = bytes(range(256)) * 3 + b"\x7f"
    text = source_text(data, "m")
    assert f"alignas({ALIGNMENT_BYTES}) const unsigned char m_model_data[] = {{" in text
    values = [int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", text)]
    assert bytes(values) == data
    assert f"const unsigned int m_model_data_len = {len(data)};" in text


def test_header_declares_the_symbols_and_quantisation() -> None:
    text = header_text(b"\x00" * 40, "digits_ab", FACTS)
    assert "extern const unsigned char digits_ab_model_data[];" in text
    assert "extern const unsigned int digits_ab_model_data_len;" in text
    assert "#define DIGITS_AB_INPUT_SCALE 0.00390625f" in text
    assert "#define DIGITS_AB_INPUT_ZERO_POINT (-128)" in text
    assert "#define DIGITS_AB_ARENA_BYTES 3184" in text
    assert "ARENA_BYTES_CORTEX_M" not in text  # no estimate given
    assert text.count("#ifndef TINYNAS_DIGITS_AB_MODEL_DATA_H_") == 1
    with_m4 = header_text(b"\x00" * 40, "digits_ab", replace(FACTS, arena_cortex_m_bytes=2980))
    assert "#define DIGITS_AB_ARENA_BYTES_CORTEX_M 2980" in with_m4


# ---- compiled with real compilers (an exported model; trains and converts once) -----------------

HOST_PROGRAM = """\
#include <cstdint>
#include <cstdio>
#include "model_data.h"

int main() {{
  std::printf("%u %u", {ident}_model_data_len,
              static_cast<unsigned>(reinterpret_cast<std::uintptr_t>({ident}_model_data) % 16));
  for (unsigned i = 0; i < 16; ++i) std::printf(" %02x", {ident}_model_data[i]);
  std::printf(" %.9g %d\\n", {macro}_INPUT_SCALE, {macro}_INPUT_ZERO_POINT);
  return 0;
}}
"""

C_PROGRAM = """\
#include "model_data.h"
int main(void) {{
  return {ident}_model_data_len == {length}u && {ident}_model_data[4] == 'T' ? 0 : 1;
}}
"""


def _compile(*args: str | Path, cwd: Path) -> None:
    result = subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_host_program_links_the_array(exported: ExportResult, tmp_path: Path) -> None:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    shutil.copy(exported.c_array.source_path, tmp_path)
    shutil.copy(exported.c_array.header_path, tmp_path)
    ident = exported.c_array.data_symbol.removesuffix("_model_data")
    (tmp_path / "main.cc").write_text(HOST_PROGRAM.format(ident=ident, macro=ident.upper()))
    _compile("g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "main.cc",
             "model_data.cc", "-o", "host", cwd=tmp_path)  # fmt: skip
    out = subprocess.run([str(tmp_path / "host")], capture_output=True, text=True, timeout=30)
    length, misalignment, *first, scale, zero_point = out.stdout.split()
    data = exported.tflite_path.read_bytes()
    assert int(length) == len(data) == exported.card["flash_bytes"]
    assert int(misalignment) == 0
    assert bytes(int(b, 16) for b in first) == data[:16] and data[4:8] == b"TFL3"
    assert float(scale) == pytest.approx(exported.card["input"]["scale"], rel=1e-6)
    assert int(zero_point) == exported.card["input"]["zero_point"]
    header = exported.c_array.header_path.read_text(encoding="utf-8")
    m4 = re.search(rf"#define {ident.upper()}_ARENA_BYTES_CORTEX_M (\d+)", header)
    assert m4 is not None and int(m4.group(1)) == exported.card["tflm_arena_cortex_m_bytes"]


@pytest.mark.slow
def test_c_program_links_the_array(exported: ExportResult, tmp_path: Path) -> None:
    if shutil.which("gcc") is None or shutil.which("g++") is None:
        pytest.skip("gcc or g++ is not installed")
    shutil.copy(exported.c_array.source_path, tmp_path)
    shutil.copy(exported.c_array.header_path, tmp_path)
    ident = exported.c_array.data_symbol.removesuffix("_model_data")
    length = exported.tflite_path.stat().st_size
    (tmp_path / "main.c").write_text(C_PROGRAM.format(ident=ident, length=length))
    _compile("gcc", "-std=c99", "-Wall", "-Werror", "-c", "main.c", cwd=tmp_path)
    _compile("g++", "-std=c++11", "-c", "model_data.cc", cwd=tmp_path)
    _compile("g++", "main.o", "model_data.o", "-o", "c_host", cwd=tmp_path)
    assert subprocess.run([str(tmp_path / "c_host")], timeout=30).returncode == 0


@pytest.mark.slow
def test_cortex_m4_object(exported: ExportResult, tmp_path: Path) -> None:
    tools = ("arm-none-eabi-g++", "arm-none-eabi-readelf")
    if any(shutil.which(tool) is None for tool in tools):
        pytest.skip("the arm-none-eabi toolchain is not installed")
    source = exported.c_array.source_path
    shutil.copy(exported.c_array.header_path, tmp_path)
    _compile("arm-none-eabi-g++", "-std=c++11", "-mcpu=cortex-m4", "-mthumb", "-Wall", "-Werror",
             "-fdata-sections", "-c", source, "-o", "model_data.o", cwd=tmp_path)  # fmt: skip
    readelf = ["arm-none-eabi-readelf", "-W", "-S", "-s", "model_data.o"]
    listing = subprocess.run(readelf, cwd=tmp_path, capture_output=True, text=True).stdout
    symbol, length = exported.c_array.data_symbol, exported.tflite_path.stat().st_size
    entry = r"\s+OBJECT\s+GLOBAL\s+DEFAULT\s+\d+\s+"
    assert re.search(rf"\s{length}{entry}{symbol}$", listing, re.MULTILINE)
    assert re.search(rf"\s4{entry}{symbol}_len$", listing, re.MULTILINE)
    # the array's own section is read-only data (flash), 16-byte aligned
    section = re.search(rf"\.rodata\.{symbol}\s.*\s(\d+)$", listing, re.MULTILINE)
    assert section is not None and int(section[1]) == ALIGNMENT_BYTES
