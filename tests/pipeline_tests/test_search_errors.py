"""Bad input to `tinynas search`: exit 2 with one clear `error:` line, never a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from search_helpers import one_error_line, search_args

from tinynas.store import RunStore

pytestmark = pytest.mark.cli


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_unknown_board_suggests_a_close_name(tmp_path: Path) -> None:
    argv = search_args(tmp_path / "run", 10)
    argv[argv.index("stm32")] = "stm33"
    line = one_error_line(run(argv, tmp_path))
    assert "'stm33' not found" in line and "did you mean stm32" in line
    assert not (tmp_path / "run").exists()


def test_a_missing_dataset_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.npz"
    argv = search_args(tmp_path / "run", 10)
    argv[argv.index("digits")] = str(missing)
    line = one_error_line(run(argv, tmp_path))
    assert "not found" in line and str(missing) in line
    assert not (tmp_path / "run").exists()


def test_a_budget_nothing_meets_names_what_the_smallest_needs_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    argv = search_args(tmp_path / "run", 20, "--max-ram", "500B", "--json")
    line = one_error_line(run(argv, tmp_path))  # --json: nothing but the error, even on stdout
    assert "no architecture of 20 tried fits the budget" in line and "RAM <= 500 B" in line
    needs = re.search(r"the smallest needs ([\d,]+) B flash and ([\d,]+) B RAM", line)
    assert needs is not None, line
    assert int(needs.group(2).replace(",", "")) > 500
    # a new run that kept nothing leaves no folder: the same --out takes other settings at once
    assert line.endswith(f"nothing was kept in {tmp_path / 'run'}")
    assert not (tmp_path / "run").exists()


def test_a_budget_nothing_meets_in_a_folder_the_user_made_leaves_the_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "run").mkdir()
    argv = search_args(tmp_path / "run", 10, "--max-unas-size", "20B", "--json")
    line = one_error_line(run(argv, tmp_path))
    assert "μNAS size <= 20 B" in line
    needs = re.search(r"μNAS size ([\d,]+) B\)", line)
    assert needs is not None, line
    assert int(needs.group(1).replace(",", "")) > 20
    assert (tmp_path / "run").is_dir() and not any((tmp_path / "run").iterdir())


def test_resuming_a_corrupt_run_store_is_refused_and_leaves_it_alone(tmp_path: Path) -> None:
    db = tmp_path / "run" / "run.db"
    db.parent.mkdir()
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    line = one_error_line(run(search_args(tmp_path / "run", 10, "--resume"), tmp_path))
    assert "not a tinynas run store" in line and "run.db" in line
    assert db.read_bytes() == garbage


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    config = {"device": "nucleo-l4r5zi", "dataset": "digits", "strategy": "evolution", "seed": 0}
    RunStore.create(tmp_path / "run", config).close()
    line = one_error_line(run(search_args(tmp_path / "run", 10, "--resume"), tmp_path))
    assert "strategy='evolution', not 'random'" in line and "same settings" in line


def test_resuming_nothing_is_refused(tmp_path: Path) -> None:
    line = one_error_line(run(search_args(tmp_path / "run", 10, "--resume"), tmp_path))
    assert "nothing to resume" in line and "drop --resume" in line


def test_a_second_writer_of_the_same_run_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = subprocess.Popen(search_args(out, 3000), cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "run.db").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = run(search_args(out, 3000, "--resume"), tmp_path)
        assert first.poll() is None, "the first search ended before the second started"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    line = one_error_line(second)
    assert f"being written by another process (pid {first.pid})" in line

