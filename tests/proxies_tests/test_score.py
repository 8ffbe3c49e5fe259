"""`tinynas proxies score`: a user's own architectures scored through the real entry point."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest

from tinynas.cli import main
from tinynas.estimators import macs, params
from tinynas.space import Architecture, SpaceConfig, sample

DIGITS = (8, 8, 1)  # sklearn's digits: 8x8 grayscale, 10 classes
CONFIG = SpaceConfig(max_blocks=3, max_filters=16, max_units=32)


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _archs(count: int, shape: tuple[int, ...] = DIGITS) -> list[Architecture]:
    return [sample(shape, 10, random.Random(s), CONFIG) for s in range(count)]


def _write(path: Path, archs: list[Architecture], blank_every: int = 0) -> Path:
    lines = []
    for k, arch in enumerate(archs):
        if blank_every and k % blank_every == 0:
            lines.append("")  # blank lines are skipped, line numbers kept
        lines.append(arch.to_json(indent=None))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_kept_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TINYNAS_PROXIES_DIR", str(tmp_path / "no-validations"))


def test_three_hundred_architectures_to_csv(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    archs = _archs(300)
    source = _write(tmp_path / "archs.jsonl", archs, blank_every=50)
    out = tmp_path / "scores.csv"
    code, shown, err = _run(capsys, "proxies", "score", source, "--dataset", "digits",
                            "--metrics", "auto,macs", "--metrics", "params", "--out", out)
    assert code == 0, err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # without a kept validation of digits, auto is the search's default ranker: params
    assert list(rows[0]) == ["line", "arch_hash", "params", "macs"]
    assert len(rows) == 300 and "auto = params" in shown and "... 280 more" in shown
    text_lines = source.read_text(encoding="utf-8").split("\n")
    for row, arch in zip(rows, archs, strict=True):
        assert text_lines[int(row["line"]) - 1] == arch.to_json(indent=None)
        assert row["arch_hash"] == arch.content_hash
        assert float(row["macs"]) == macs(arch) and float(row["params"]) == params(arch)


def test_json_names_what_auto_stood_for(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    source = _write(tmp_path / "archs.jsonl", _archs(5))
    code, out, err = _run(capsys, "proxies", "score", source, "--dataset", "digits", "--json",
                          "--metrics", "auto,naswot")
    assert code == 0, err
    table = json.loads(out)
    assert table["resolved"] == {"auto": "params"} and table["metrics"] == ["params", "naswot"]
    assert [r["line"] for r in table["rows"]] == [1, 2, 3, 4, 5]
    scores = [r["scores"]["naswot"] for r in table["rows"]]
    assert all(s is not None and math.isfinite(s) for s in scores)  # a data metric, scored
    assert len(set(scores)) > 1


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda d: d.pop("blocks"), "line 3: architecture is missing field 'blocks'"),
    (lambda d: d.update(num_classes="ten"),
     "line 3: architecture.num_classes must be an integer, got 'ten'"),
    (lambda d: d["blocks"][0]["layers"][0].update(kernel_size=4),
     "line 3: invalid architecture: blocks[0].layers[0]: kernel_size 4 must be one of"),
])  # fmt: skip
def test_a_bad_line_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             damage: object, fragment: str) -> None:
    archs = _archs(4)
    source = _write(tmp_path / "archs.jsonl", archs)
    lines = source.read_text(encoding="utf-8").split("\n")
    doc = json.loads(lines[2])
    damage(doc)  # type: ignore[operator]
    lines[2] = json.dumps(doc)
    source.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "scores.csv"
    code, _, err = _run(capsys, "proxies", "score", source, "--dataset", "digits", "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert f"{source} {fragment}" in err and not out.exists()


def test_not_json_and_wrong_shape_are_named(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    source = _write(tmp_path / "archs.jsonl", _archs(2))
    source.write_text(source.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    code, _, err = _run(capsys, "proxies", "score", source, "--dataset", "digits")
    assert code == 2 and f"{source} line 3: architecture JSON is not valid JSON" in err
    rgb = _write(tmp_path / "rgb.jsonl", _archs(1) + _archs(1, (8, 8, 3)))
    code, _, err = _run(capsys, "proxies", "score", rgb, "--dataset", "digits")
    assert code == 2 and f"{rgb} line 2: field 'input_shape' is [8, 8, 3]" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    code, _, err = _run(capsys, "proxies", "score", empty, "--dataset", "digits")
    assert code == 2 and "holds no architecture" in err


def test_an_existing_out_file_is_kept(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    source = _write(tmp_path / "archs.jsonl", _archs(2))
    out = tmp_path / "scores.csv"
    out.write_text("mine\n", encoding="utf-8")
    code, _, err = _run(capsys, "proxies", "score", source, "--dataset", "digits", "--out", out)
    assert code == 2 and "--force" in err and out.read_text(encoding="utf-8") == "mine\n"
    code, _, err = _run(capsys, "proxies", "score", source, "--dataset", "digits", "--out", out,
                        "--force", "--metrics", "macs")
    assert code == 0, err
    assert out.read_text(encoding="utf-8").startswith("line,arch_hash,macs\n")
