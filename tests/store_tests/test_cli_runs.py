"""``tinynas runs`` and ``tinynas runs show``: real processes over real run stores."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from tinynas.space import Architecture
from tinynas.store import RunStore
from tinynas.testing.store import CONFIG, arch

pytestmark = pytest.mark.cli


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def fill(store: RunStore) -> list[int]:
    """Four candidates (one rejected), two trained, a front of two, the best one chosen."""
    ids = []
    for n in range(3):
        est = {"flash_bytes": 1000 * (n + 1), "arena_bytes": 512 * (n + 1), "latency_ms": 2.5 * n,
               "latency_source": "fitted", "provenance": {"latency_ms": "predicted"}}
        ids.append(store.add_candidate(arch(n), "scored", est, {"naswot": 10.0 + n}).id)
    store.add_candidate(arch(3), "rejected", {"arena_bytes": 10**6}, reject_reason="arena > RAM")
    kw: dict[str, Any] = {"epochs": 5, "seed": 0, "train_seconds": 3.0, "device": "cpu"}
    store.add_training(ids[0], stage="final", val_accuracy=0.8, test_accuracy=0.78, **kw)
    store.add_training(ids[2], stage="final", val_accuracy=0.9, test_accuracy=0.875,
                       int8_accuracy=0.87, **kw)  # fmt: skip
    store.add_measurement(ids[2], "latency", {"latency_ms": 4.75}, "emulated")
    store.mark_front([ids[0], ids[2]])
    store.set_chosen(ids[2])
    return ids


def make_run(root: Path, name: str = "demo") -> list[int]:
    with RunStore.create(root / name, CONFIG) as store:
        ids = fill(store)
        store.finish()
    (root / name / "model.tflite").write_bytes(b"\0")
    return ids


def test_runs_json_lists_every_run(tmp_path: Path) -> None:
    make_run(tmp_path / "runs")
    result = run_cli("runs", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)
    assert (run["name"], run["status"], run["device"], run["dataset"]) == (
        "demo", "finished", "nucleo-l4r5zi", "digits")  # fmt: skip
    assert (run["candidates"], run["evaluated"], run["trained"]) == (4, 4, 2)
    assert run["best_accuracy"] == 0.875 and run["error"] is None


def test_runs_table(tmp_path: Path) -> None:
    make_run(tmp_path, "first")
    result = run_cli("runs", "--root", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "first" in line)
    assert row.split()[-6:] == ["digits", "finished", "4", "4", "2", "87.50%"]
    assert "nucleo-l4r5zi" in row


def test_show_json_has_front_chosen_and_provenance(tmp_path: Path) -> None:
    ids = make_run(tmp_path)
    result = run_cli("runs", "show", "demo", "--root", ".", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["config"] == CONFIG
    assert [c["id"] for c in run["front"]] == [ids[0], ids[2]]
    chosen = run["chosen"]
    assert chosen["id"] == ids[2] and Architecture.from_dict(chosen["architecture"]) == arch(2)
    assert chosen["measurements"][0]["provenance"] == "emulated"
    assert chosen["trainings"][0]["int8_accuracy"] == 0.87
    assert run["files"] == ["model.tflite"]


def test_show_table_labels_where_numbers_come_from(tmp_path: Path) -> None:
    make_run(tmp_path)
    result = run_cli("runs", "show", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Pareto front of run 'demo' (2 candidates)" in out
    assert "flash_bytes (est.)" in out and "naswot (score)" in out
    assert "latency_ms (pred.)" in out
    assert "latency_source (est" not in out and "provenance (est" not in out  # not columns
    assert "latency (emulated)" in out and "measured" not in out.split("latency (emulated)")[1]
    assert "87.50%" in out


def test_listing_works_while_a_writer_holds_the_run(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "live", CONFIG) as store:
        fill(store)
        listed = run_cli("runs", "--root", ".", "--json", cwd=tmp_path)
        shown = run_cli("runs", "show", "live", "--root", ".", "--json", cwd=tmp_path)
        store.add_candidate(arch(9), "proposed")  # still the writer
    assert listed.returncode == 0 and shown.returncode == 0, listed.stderr + shown.stderr
    (run,) = json.loads(listed.stdout)
    assert (run["status"], run["candidates"]) == ("running", 4)
    assert json.loads(shown.stdout)["summary"]["status"] == "running"
    (after,) = json.loads(run_cli("runs", "--root", ".", "--json", cwd=tmp_path).stdout)
    assert (after["status"], after["candidates"]) == ("interrupted", 5)


def test_corrupt_run_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "runs" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "x" / "run.db").write_text("not sqlite at all\n" * 50)
    line = one_error_line(run_cli("runs", "show", "x", cwd=tmp_path))
    assert line == (
        "error: runs/x/run.db is not a tinynas run store (file is not a database): "
        "move it away or choose another --out"
    )
    listed = run_cli("runs", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "unreadable" and "file is not a database" in run["error"]


def test_missing_root_and_unknown_run_are_one_error_line(tmp_path: Path) -> None:
    assert "no runs folder 'runs'" in one_error_line(run_cli("runs", cwd=tmp_path))
    make_run(tmp_path / "runs")
    line = one_error_line(run_cli("runs", "show", "nope", cwd=tmp_path))
    assert "no run 'nope' in 'runs'" in line and "tinynas runs" in line


def test_show_table_gives_a_compound_run_s_fitted_constants(tmp_path: Path) -> None:
    fitted = [{"base": f"{n:016x}", "depth": 1.0 + n / 10, "width": 1.1, "resolution": 1.3,
               "resource": ("flash", "ram", "latency")[n % 3]} for n in range(7)]
    with RunStore.create(tmp_path / "demo", CONFIG) as store:
        fill(store)
        store.set_meta("strategy", {"compound": fitted})
        store.finish()
    result = run_cli("runs", "show", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "compound (a, b, g), 7 base(s)" in out
    assert ("flash: (1, 1.1, 1.3); ram: (1.1, 1.1, 1.3); latency: (1.2, 1.1, 1.3); "
            "flash: (1.3, 1.1, 1.3); ram: (1.4, 1.1, 1.3); 2 more (--json lists all)") in out
    shown = json.loads(run_cli("runs", "show", str(tmp_path / "demo"), "--json").stdout)
    assert shown["meta"]["strategy"]["compound"] == fitted


def test_show_table_of_another_strategy_has_no_compound_row(tmp_path: Path) -> None:
    make_run(tmp_path)
    result = run_cli("runs", "show", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0 and "compound (a, b, g)" not in result.stdout
