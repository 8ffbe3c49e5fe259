"""A run.db emptied (or lost) beside a WAL that holds the run's commits is refused, untouched.

SQLite deletes the WAL of a zero-length database file when it opens it, read-only connections
included, so one ``tinynas runs show`` would delete every candidate stored since the last
checkpoint. Here the state is built for real: a writer stores candidates, its WAL is copied
while it is open (a clean close checkpoints and deletes the WAL), then run.db is emptied and the
WAL put back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run_cli

from tinynas.errors import StoreError
from tinynas.store import RunStore, list_runs, show_run, summarize
from tinynas.testing.store import CONFIG, arch

CANDIDATES = 12


def run_with_wal(run: Path, keep: Path) -> None:
    """A run whose last commits live only in its WAL; copies of run.db and run.db-wal, taken
    together while the writer had them open, go to ``keep``."""
    keep.mkdir()
    with RunStore.create(run, CONFIG) as store:
        for n in range(CANDIDATES):
            store.add_candidate(arch(n), "scored", {"macs": n}, {"naswot": float(n)})
        assert (run / "run.db-wal").stat().st_size > 4096
        shutil.copy(run / "run.db", keep / "run.db")
        shutil.copy(run / "run.db-wal", keep / "run.db-wal")
    assert not (run / "run.db-wal").exists()  # the clean close checkpointed it


def emptied(tmp_path: Path) -> tuple[Path, Path]:
    """A run folder (``runs/run``) with a 0-byte run.db beside a WAL that holds its commits,
    and the folder of the copies."""
    run, keep = tmp_path / "runs" / "run", tmp_path / "keep"
    run_with_wal(run, keep)
    (run / "run.db").write_bytes(b"")
    shutil.copy(keep / "run.db-wal", run / "run.db-wal")
    return run, keep


def assert_untouched(run: Path, keep: Path) -> None:
    assert (run / "run.db-wal").read_bytes() == (keep / "run.db-wal").read_bytes()
    assert (run / "run.db").read_bytes() == b""
    assert sorted(p.name for p in run.iterdir()) == [".lock", "run.db", "run.db-wal"]


def damaged_message(run: Path) -> str:
    return f"{run / 'run.db'} is damaged: it is 0 bytes (shorter than an SQLite header) while "


@pytest.mark.parametrize("writable", [False, True])
def test_open_refuses_an_empty_db_beside_a_wal_and_keeps_the_wal(
    tmp_path: Path, writable: bool
) -> None:
    run, keep = emptied(tmp_path)
    with pytest.raises(StoreError) as info:
        RunStore.open(run, writable=writable)
    message = str(info.value)
    assert message.startswith(damaged_message(run)), message
    assert "nothing was opened or changed" in message and "Keep the files" in message
    assert f"copy the folder '{run}'" in message and "\n" not in message
    assert_untouched(run, keep)
    # nothing was lost: with the run.db of its WAL back, every candidate is there
    shutil.copy(keep / "run.db", run / "run.db")
    with RunStore.open(run, writable=False) as store:
        assert store.count() == CANDIDATES


def test_create_refuses_an_empty_or_missing_db_beside_a_wal(tmp_path: Path) -> None:
    run, keep = emptied(tmp_path)
    with pytest.raises(StoreError, match="is 0 bytes .* nothing was opened or changed"):
        RunStore.create(run, CONFIG)
    assert_untouched(run, keep)
    (run / "run.db").unlink()
    with pytest.raises(StoreError, match="run.db is damaged: it is missing while run.db-wal"):
        RunStore.create(run, CONFIG)
    assert (run / "run.db-wal").read_bytes() == (keep / "run.db-wal").read_bytes()
    assert not (run / "run.db").exists()


def test_runs_show_and_listing_refuse_it_and_keep_the_wal(tmp_path: Path) -> None:
    run, keep = emptied(tmp_path)
    with pytest.raises(StoreError, match="is damaged: it is 0 bytes"):
        show_run(run)
    summary = summarize(run)
    assert summary.status == "unreadable"
    assert summary.error is not None and summary.error.startswith(damaged_message(run))
    assert [(s.name, s.status) for s in list_runs(tmp_path / "runs")] == [("run", "unreadable")]
    assert_untouched(run, keep)


def test_runs_show_cli_is_one_error_line_and_keeps_the_wal(tmp_path: Path) -> None:
    run, keep = emptied(tmp_path)
    result = run_cli("runs", "show", "run", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {damaged_message(Path('runs/run'))}"), line
    listed = run_cli("runs", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert '"status": "unreadable"' in listed.stdout
    assert_untouched(run, keep)


def test_reader_leaves_the_db_and_its_wal_as_they_are(tmp_path: Path) -> None:
    """A sound run.db with commits in its WAL and no writer: a reader (``mode=ro``) reads them
    and neither checkpoints nor truncates or deletes anything, even as the last connection."""
    run, keep = tmp_path / "run", tmp_path / "keep"
    run_with_wal(run, keep)
    for name in ("run.db", "run.db-wal"):
        shutil.copy(keep / name, run / name)
    for _ in range(2):
        with RunStore.open(run, writable=False) as store:
            assert store.count() == CANDIDATES
        assert summarize(run).candidates == CANDIDATES
        for name in ("run.db", "run.db-wal"):
            assert (run / name).read_bytes() == (keep / name).read_bytes(), name


def test_a_wal_with_no_frames_beside_an_empty_db_is_no_damage(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.db").write_bytes(b"")
    (run / "run.db-wal").write_bytes(b"")
    with pytest.raises(StoreError, match="not a tinynas run store \\(no schema_version table\\)"):
        RunStore.open(run, writable=False)
