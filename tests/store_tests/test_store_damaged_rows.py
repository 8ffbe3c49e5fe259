"""A store damaged, or edited by hand, is one clear StoreError naming the run and the row.

``tinynas runs`` still lists every other run (the damaged one as "unreadable", with the
reason), and ``tinynas runs show`` of the damaged run is one error line, never a traceback;
reading changes nothing in the file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from tinynas.errors import StoreError
from tinynas.store import RunStore, list_runs, show_run
from tinynas.testing.store import CONFIG, arch


def make_run(folder: Path) -> list[int]:
    """A finished run: three candidates on the front, two trained, the last one chosen."""
    with RunStore.create(folder, CONFIG) as store:
        ids = [store.add_candidate(arch(n), "scored", {"macs": n}, {"naswot": 1.0 + n}).id
               for n in range(3)]  # fmt: skip
        kw: dict[str, Any] = {"epochs": 2, "seed": 0, "train_seconds": 1.0, "device": "cpu"}
        store.add_training(ids[1], stage="final", test_accuracy=0.5, **kw)
        store.add_training(ids[2], stage="final", test_accuracy=0.75, **kw)
        store.add_measurement(ids[2], "latency", {"latency_ms": 3.5}, "emulated")
        store.mark_front(ids)
        store.set_chosen(ids[2])
        store.finish()
    return ids


def damage(folder: Path, *statements: str) -> str:
    """Run SQL on the run's file as a hand edit would (CHECK constraints off); its sha256."""
    conn = sqlite3.connect(folder / "run.db")
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        for statement in statements:
            assert conn.execute(statement).rowcount == 1, statement
        conn.commit()
    finally:
        conn.close()
    return digest(folder)


def digest(folder: Path) -> str:
    return hashlib.sha256((folder / "run.db").read_bytes()).hexdigest()


ROW_DAMAGE = {
    "estimates_json": ("UPDATE candidates SET estimates_json = '{\"macs\": 2' WHERE id = 3",
                       "candidates row 3: estimates_json is not JSON (Expecting"),
    "scores_json": ("UPDATE candidates SET scores_json = '[1, 2]' WHERE id = 2",
                    "candidates row 2: scores_json is list [1, 2], not a JSON object"),
    "arch_json": ("UPDATE candidates SET arch_json = 'conv2d x3' WHERE id = 1",
                  "candidates row 1: arch_json is not JSON"),
    "status": ("UPDATE candidates SET status = 'done' WHERE id = 3",
               "candidates row 3: unknown status 'done' (expected one of proposed, rejected, "
               "scored, training, trained, failed)"),
    "training": ("UPDATE trainings SET test_accuracy = 'high' WHERE id = 2",
                 "trainings row 2: test_accuracy is 'high', not a number"),
    "measurement": ("UPDATE measurements SET provenance = 'guessed' WHERE id = 1",
                    "measurements row 1: unknown provenance 'guessed'"),
    "meta": ("UPDATE meta SET value = 'finished' WHERE key = 'status'",
             "meta 'status': value is not JSON"),
    "config": ("UPDATE meta SET value = '[\"seed\", 7]' WHERE key = 'config'",
               "meta 'config': value is list"),
}  # fmt: skip


@pytest.mark.parametrize("what", sorted(ROW_DAMAGE))
def test_show_of_a_damaged_row_names_the_run_and_the_row(tmp_path: Path, what: str) -> None:
    run = tmp_path / "demo"
    make_run(run)
    statement, expected = ROW_DAMAGE[what]
    before = damage(run, statement)
    with pytest.raises(StoreError) as info:
        show_run(run)
    message = str(info.value)
    assert message.startswith(f"run 'demo' is damaged ({run / 'run.db'}): {expected}"), message
    assert "repair or delete that row with sqlite3" in message and "\n" not in message
    assert digest(run) == before  # reading changed nothing


def test_resuming_a_damaged_store_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    run = tmp_path / "demo"
    ids = make_run(run)
    damage(run, ROW_DAMAGE["status"][0])
    with RunStore.open(run) as store:
        with pytest.raises(StoreError, match="run 'demo' is damaged .*unknown status 'done'"):
            store.candidates()
        with pytest.raises(StoreError, match="candidates row 3: unknown status .*could not set"):
            store.set_scores(ids[2], {"zen": 1.0})
        assert store.count() == 3
    conn = sqlite3.connect(run / "run.db")
    assert conn.execute("SELECT scores_json FROM candidates WHERE id = 3").fetchone() == (
        '{"naswot":3.0}',)  # fmt: skip
    conn.close()


def test_runs_show_cli_of_a_damaged_row_is_one_error_line(tmp_path: Path) -> None:
    make_run(tmp_path / "runs" / "demo")
    damage(tmp_path / "runs" / "demo", ROW_DAMAGE["estimates_json"][0])
    for args in (("runs", "show", "demo"), ("runs", "show", "demo", "--json")):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        assert "Traceback" not in result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: run 'demo' is damaged (runs/demo/run.db): candidates row "
                               "3: estimates_json is not JSON"), line  # fmt: skip


LISTING_DAMAGE = {
    "b-meta": ("UPDATE meta SET value = '{oops' WHERE key = 'status'",
               "meta 'status': value is not JSON"),
    "c-training": ("UPDATE trainings SET test_accuracy = 'high' WHERE id = 2",
                   "trainings row 2: test_accuracy is 'high', not a number"),
    "d-created": ("UPDATE meta SET value = '5' WHERE key = 'created_at'", None),
    "e-status": ("UPDATE candidates SET status = 'done' WHERE id = 3", None),
}  # fmt: skip


def damaged_runs(root: Path) -> dict[str, str]:
    """Sound runs a- and z-, runs damaged as LISTING_DAMAGE says, and a file that is not a
    database in x-; the sha256 of each run.db."""
    digests = {}
    for name in ("a-sound", *LISTING_DAMAGE, "z-sound"):
        make_run(root / name)
        statement = LISTING_DAMAGE.get(name, (None, None))[0]
        digests[name] = damage(root / name, statement) if statement else digest(root / name)
    (root / "x-garbage").mkdir()
    (root / "x-garbage" / "run.db").write_bytes(b"not a database\n" * 50)
    return digests


def test_listing_lists_every_run_around_damaged_ones(tmp_path: Path) -> None:
    digests = damaged_runs(tmp_path)
    by_name = {s.name: s for s in list_runs(tmp_path)}
    assert sorted(by_name) == sorted([*digests, "x-garbage"])
    for name in ("a-sound", "z-sound", "d-created", "e-status"):  # summaries decode no candidate
        assert (by_name[name].status, by_name[name].error) == ("finished", None), name
        assert by_name[name].candidates == 3 and by_name[name].best_accuracy == 0.75
    assert by_name["d-created"].created_at == "5"
    for name in ("b-meta", "c-training"):
        error = by_name[name].error
        assert by_name[name].status == "unreadable" and error is not None
        assert error.startswith(f"run '{name}' is damaged ({tmp_path / name / 'run.db'}): "
                                f"{LISTING_DAMAGE[name][1]}"), error  # fmt: skip
    assert by_name["x-garbage"].status == "unreadable"
    assert "file is not a database" in str(by_name["x-garbage"].error)
    assert {name: digest(tmp_path / name) for name in digests} == digests


def test_runs_cli_lists_every_run_around_damaged_ones(tmp_path: Path) -> None:
    damaged_runs(tmp_path / "runs")
    listed = run_cli("runs", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    statuses = {run["name"]: run["status"] for run in json.loads(listed.stdout)}
    assert statuses == {"a-sound": "finished", "b-meta": "unreadable",
                        "c-training": "unreadable", "d-created": "finished",
                        "e-status": "finished", "x-garbage": "unreadable",
                        "z-sound": "finished"}  # fmt: skip
    table = run_cli("runs", cwd=tmp_path)
    assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr
    assert "b-meta: run 'b-meta' is damaged" in table.stdout
    assert "e-status" in table.stdout and "z-sound" in table.stdout


def test_listing_lists_a_folder_it_cannot_look_into_as_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run(tmp_path / "a-sound")
    (tmp_path / "b-closed").mkdir()
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:  # what a folder without search permission gives
        if path.parent.name == "b-closed":
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    by_name = {s.name: s for s in list_runs(tmp_path)}
    assert by_name["a-sound"].status == "finished"
    assert by_name["b-closed"].status == "unreadable"
    assert "Permission denied" in str(by_name["b-closed"].error)
