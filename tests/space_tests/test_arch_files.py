"""Architecture JSON files that are not what they claim (not UTF-8, nested past the reader,
huge), and architectures past what any microcontroller takes: one SearchSpaceError each, read
in this process; a real ``tinynas arch`` process for a representative few."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinynas.errors import SearchSpaceError
from tinynas.space import (
    MAX_CLASSES,
    MAX_INPUT_ELEMENTS,
    Architecture,
    problems,
    read_architecture,
    sample,
)
from tinynas.space._arch import MAX_JSON_BYTES
from tinynas.testing.cli import assert_one_line_error


def arch_dict(**changes: Any) -> dict[str, Any]:
    d = json.loads(sample((28, 28, 1), 10, 0).to_json())
    d.update(changes)
    return d


def write(tmp_path: Path, content: bytes, name: str = "arch.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe{}", "is not UTF-8 text (byte 0xff at offset 0)"),
        ('{"schema": "tinynas.arch/1", "x": "é"}'.encode("latin-1"), "at offset 35"),
        (b"[" * 100_000, "nests arrays or objects deeper than the JSON reader allows"),
        (b'{"a":' * 100_000, "nests arrays or objects deeper than the JSON reader allows"),
        (b'{"schema": 1,\n "x": }', "not valid JSON: Expecting value: line 2 column 7"),
        (b'{"num_classes": 1' + b"0" * 5000 + b"}", "is not usable: Exceeds the limit"),
        (b" " * (MAX_JSON_BYTES + 1), "too large for an architecture JSON"),
    ],
    ids=["bom", "latin-1", "nested-arrays", "nested-objects", "syntax", "long-int", "huge"],
)
def test_unreadable_files_are_one_error_naming_the_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(SearchSpaceError) as info:
        read_architecture(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message, message
    assert "\n" not in message and len(message) < 400


def test_a_folder_or_missing_file_is_one_error(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.json"):
        with pytest.raises(SearchSpaceError, match=f"cannot read architecture '{path}'"):
            read_architecture(path)


def test_from_json_takes_bytes_and_text() -> None:
    arch = sample((28, 28, 1), 10, 3)
    assert Architecture.from_json(arch.to_json().encode()) == arch
    assert Architecture.from_json(arch.to_json()) == arch


# ---- limits no microcontroller model exceeds --------------------------------------------------


def test_the_caps_sit_above_every_board_and_at_the_data_cap() -> None:
    from tinynas.data import MAX_CLASSES as DATA_MAX_CLASSES
    from tinynas.devices import load_catalogue

    assert MAX_INPUT_ELEMENTS > max(d.sram_bytes for d in load_catalogue().values())
    assert MAX_CLASSES == DATA_MAX_CLASSES


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"input_shape": [100_000, 100_000, 3]},
         f"input_shape [100000, 100000, 3] has 30,000,000,000 elements; at most "
         f"{MAX_INPUT_ELEMENTS:,}"),
        ({"input_shape": [2**22]}, "input_shape [4194304] has 4,194,304 elements"),
        ({"num_classes": 10**12}, f"num_classes is 1,000,000,000,000; at most {MAX_CLASSES:,}"),
        ({"num_classes": 10**400}, "num_classes is about 10^400; at most"),
        ({"input_shape": [10**500, 1]}, "input_shape [about 10^500, 1] has about 10^500"),
        ({"dense": [10**6]}, "dense[0] has 1,000,000 units; 1 to 256"),
    ],
    ids=["image", "1-d", "classes", "classes-huge", "shape-huge", "units"],
)
def test_limits_are_refused_with_the_limit(changes: dict[str, Any], expected: str) -> None:
    arch = Architecture.from_dict(arch_dict(**changes))
    found = problems(arch)
    assert found and any(expected in p for p in found), found


def test_a_filter_count_past_the_cap_is_refused() -> None:
    d = arch_dict()
    d["blocks"][0]["layers"][0].update(type="conv2d", filters=10**9)
    assert "filters 1,000,000,000 must be 1 to 128" in problems(Architecture.from_dict(d))[0]


def test_the_largest_input_and_class_count_are_valid() -> None:
    side = math.isqrt(MAX_INPUT_ELEMENTS)
    assert not problems(sample((side, side, 1), MAX_CLASSES, 0))


def test_a_file_past_the_caps_is_refused_before_any_allocation(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(arch_dict(input_shape=[10**9, 10**9, 3],
                                                num_classes=10**12)).encode())  # fmt: skip
    with pytest.raises(SearchSpaceError, match=r"elements; at most .* \(and 1 more\)"):
        read_architecture(path)


# ---- the commands that read architecture files ------------------------------------------------


def test_arch_show_and_convert_refuse_bad_files_in_one_line(
    tmp_path: Path, run_cli: Any
) -> None:
    bad = write(tmp_path, b"\xff\xfe{}", "bom.json")
    deep = write(tmp_path, b"[" * 100_000, "deep.json")
    huge = write(tmp_path, json.dumps(arch_dict(input_shape=[30000, 30000, 3])).encode())
    assert_one_line_error(run_cli("arch", "show", bad, cwd=tmp_path), str(bad), "not UTF-8",
                          empty_stdout=True)  # fmt: skip
    assert_one_line_error(run_cli("arch", "show", deep, "--json", cwd=tmp_path), str(deep),
                          "deeper than the JSON reader allows", empty_stdout=True)  # fmt: skip
    out = tmp_path / "model.tflite"
    assert_one_line_error(run_cli("arch", "convert", huge, "--out", out, cwd=tmp_path),
                          str(huge), f"at most {MAX_INPUT_ELEMENTS:,}", empty_stdout=True)
    assert not out.exists()


def test_export_refuses_a_bad_architecture_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinynas.cli import main

    deep = write(tmp_path, b"[" * 100_000, "deep.json")
    np.savez(tmp_path / "data.npz", x=np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(SystemExit) as caught:
        main(["export", "--arch", str(deep), "--weights", str(tmp_path / "w.pt"),
              "--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert caught.value.code == 2 and len(err) == 1
    assert err[0].startswith(f"error: {deep}: ") and "deeper than the JSON reader" in err[0]
    assert not (tmp_path / "out").exists()


def test_arch_sample_refuses_a_shape_past_the_cap(capsys: pytest.CaptureFixture[str]) -> None:
    from tinynas.cli import main

    for shape, expected in (("5000x5000x3", "75,000,000 elements"),
                            ("5" + "0" * 5000, "at most 9 digits"),
                            ("2²", "at most 9 digits")):  # fmt: skip
        with pytest.raises(SystemExit) as caught:
            main(["arch", "sample", "--input-shape", shape, "--json"])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert caught.value.code == 2 and len(lines) == 1 and expected in lines[0], lines
        assert captured.out == ""
