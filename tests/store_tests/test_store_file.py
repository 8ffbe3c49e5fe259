"""A run store in a file: durability across reopen, the writer lock, and bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT as REPO

from tinynas.errors import StoreError
from tinynas.store import CandidateStatus, RunStore, _store, list_runs
from tinynas.testing.store import CONFIG, arch

OPEN_IN_CHILD = """
import sys
from tinynas.errors import StoreError
from tinynas.store import RunStore
try:
    RunStore.open(sys.argv[1]).close()
except StoreError as e:
    print(e)
    sys.exit(3)
print("opened")
"""


def open_in_child(run_dir: Path) -> subprocess.CompletedProcess[str]:
    """Open ``run_dir`` for writing in a second, real process."""
    return subprocess.run(
        [sys.executable, "-c", OPEN_IN_CHILD, str(run_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_results_survive_close_and_resume_continues(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with RunStore.create(run, CONFIG) as store:
        first = store.add_candidate(arch(0), "scored", {"macs": 10}, {"naswot": 1.0})
        store.add_training(first.id, stage="final", epochs=2, seed=0, train_seconds=1.0,
                           device="cpu", test_accuracy=0.75)  # fmt: skip
    with RunStore.open(run) as store:
        assert store.candidates() == [first]
        assert store.config() == CONFIG
        again = store.add_candidate(arch(0), "proposed")
        second = store.add_candidate(arch(1), "proposed")
        assert again == first and second.id == first.id + 1
        best = store.best_trained()
        assert best is not None and best.test_accuracy == 0.75


def test_writer_keeps_a_wal_and_a_lock_with_its_pid(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", CONFIG) as store:
        store.add_candidate(arch(0))
        assert (tmp_path / "run" / "run.db-wal").exists()
        assert (tmp_path / "run" / ".lock").read_text().strip() == str(os.getpid())


def test_create_refuses_an_existing_run(tmp_path: Path) -> None:
    RunStore.create(tmp_path / "run", CONFIG).close()
    with pytest.raises(StoreError, match="run 'run' already exists .*--resume"):
        RunStore.create(tmp_path / "run", CONFIG)
    RunStore.open(tmp_path / "run").close()  # the refused create released the lock


def test_create_where_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(StoreError, match="cannot create run folder .*taken"):
        RunStore.create(tmp_path / "taken", CONFIG)


def test_open_without_a_run(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run store at .*run.db"):
        RunStore.open(tmp_path / "nothing")


@pytest.mark.parametrize("writable", [True, False])
def test_corrupt_file_is_refused_with_a_clear_message(tmp_path: Path, writable: bool) -> None:
    run = tmp_path / "x"
    run.mkdir()
    (run / "run.db").write_bytes(b"this is not a database\n" * 100)
    expected = (
        f"{run / 'run.db'} is not a tinynas run store (file is not a database): "
        "move it away or choose another --out"
    )
    with pytest.raises(StoreError) as info:
        RunStore.open(run, writable=writable)
    assert str(info.value) == expected
    (run / "run.db").unlink()
    RunStore.create(run, CONFIG).close()  # the failed open released the lock


def test_empty_sqlite_file_is_not_a_run_store(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.db").write_bytes(b"")  # an empty file is an empty SQLite database
    with pytest.raises(StoreError, match="not a tinynas run store \\(no schema_version table\\)"):
        RunStore.open(tmp_path / "run")


def test_newer_schema_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_store, "SCHEMA_VERSION", _store.SCHEMA_VERSION + 1)
    RunStore.create(tmp_path / "run", CONFIG).close()
    monkeypatch.undo()
    newer = _store.SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match=f"newer tinynas \\(store schema {newer};.*upgrade"):
        RunStore.open(tmp_path / "run", writable=False)


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", CONFIG) as store:
        rec = store.add_candidate(arch(0))
    with RunStore.open(tmp_path / "run", writable=False) as reader:
        assert reader.candidate(rec.id) == rec
        with pytest.raises(StoreError, match="opened read-only; cannot set a candidate's status"):
            reader.set_status(rec.id, CandidateStatus.SCORED)


def test_second_writer_process_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "busy"
    with RunStore.create(run, CONFIG) as store:
        refused = open_in_child(run)
        assert refused.returncode == 3, refused.stderr
        assert refused.stdout.strip() == (
            f"run 'busy' is being written by another process (pid {os.getpid()}); "
            "wait for it to finish or choose another --out"
        )
        store.add_candidate(arch(0))  # the holder still writes
    opened = open_in_child(run)
    assert (opened.returncode, opened.stdout.strip()) == (0, "opened")


def test_readers_list_a_run_while_it_is_written(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "a", CONFIG) as store:
        store.add_candidate(arch(0), "scored")
        store.add_candidate(arch(1), "proposed")
        (summary,) = list_runs(tmp_path)
        assert (summary.name, summary.status, summary.candidates, summary.evaluated) == (
            "a", "running", 2, 1)  # fmt: skip
        store.add_candidate(arch(2), "scored")  # the reader took no lock
    (summary,) = list_runs(tmp_path)
    assert (summary.status, summary.candidates) == ("interrupted", 3)


def test_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", CONFIG) as store:
        for n in range(200):
            store.add_candidate(arch(n), "scored", {"macs": n}, {"naswot": 1.0})
    db = tmp_path / "run" / "run.db"
    size = db.stat().st_size
    with open(db, "r+b") as f:  # keep page 1 (the schema), overwrite every table page
        f.seek(4096)
        f.write(b"\xff" * (size - 4096))
    with pytest.raises(StoreError, match="run.db is damaged \\(database disk image is malformed"):
        with RunStore.open(tmp_path / "run", writable=False) as store:
            store.candidates()


def test_discarding_a_new_run_removes_its_files_and_the_folder_it_made(tmp_path: Path) -> None:
    run_dir = tmp_path / "new"
    store = RunStore.create(run_dir, {"seed": 0})
    store.set_meta("status", "running")  # frames in the WAL, a -shm beside it
    assert {p.name for p in run_dir.iterdir()} >= {"run.db", ".lock"}
    store.discard()
    assert not run_dir.exists()
    store.close()  # a second close does nothing


def test_discarding_keeps_a_folder_that_was_there_and_what_else_it_holds(tmp_path: Path) -> None:
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    store = RunStore.create(run_dir, {"seed": 0})
    (run_dir / "notes.txt").write_text("kept", encoding="utf-8")  # written while it ran
    store.discard()
    assert [p.name for p in run_dir.iterdir()] == ["notes.txt"]
    assert (run_dir / "notes.txt").read_text(encoding="utf-8") == "kept"
    RunStore.create(run_dir, {"seed": 1}).close()  # the folder takes a new run at once


def test_only_a_writable_store_on_disk_can_be_discarded(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="only a writable run store on disk"):
        RunStore.memory().discard()
    RunStore.create(tmp_path / "run", {}).close()
    reader = RunStore.open(tmp_path / "run", writable=False)
    with pytest.raises(StoreError, match="only a writable run store on disk"):
        reader.discard()
    reader.close()
    assert (tmp_path / "run" / "run.db").is_file()
