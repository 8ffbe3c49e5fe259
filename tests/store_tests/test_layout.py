"""The run folder's layout, and starting or resuming a run in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinynas.errors import TinyNASError
from tinynas.store import RunLayout, RunStore, open_run

CONFIG = {"device": "stm32", "dataset": "digits", "seed": 0, "metric": "params"}
FIXED = ("device", "dataset", "seed")


def test_the_layout_names_every_file_of_a_run(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    assert layout.db == tmp_path / "run.db" and layout.lock == tmp_path / ".lock"
    assert layout.weights(7, "halving-1") == tmp_path / "weights" / "7-halving-1.pt"
    assert layout.teacher_weights == tmp_path / "weights" / "teacher.pt"
    assert (layout.architecture.name, layout.chosen_weights.name) == ("architecture.json",
                                                                      "weights.pt")
    assert (layout.report.name, layout.pareto_plot.name) == ("report.md", "pareto.png")
    assert layout.refined("rarts").architecture == tmp_path / "refined-rarts" / "architecture.json"


def test_a_store_knows_its_layout_and_a_memory_store_has_none(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "run", CONFIG) as store:
        assert store.layout == RunLayout(tmp_path / "run")
        assert store.layout.db.is_file()
    with RunStore.memory() as store:
        assert store.layout is None


def test_a_new_run_is_refused_where_one_exists_and_resumed_with_the_same_settings(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    with pytest.raises(TinyNASError, match="nothing to resume"):
        open_run(run, CONFIG, True, FIXED)
    open_run(run, CONFIG, False, FIXED).close()
    with pytest.raises(TinyNASError, match="already holds a run; pass --resume"):
        open_run(run, CONFIG, False, FIXED)
    with pytest.raises(TinyNASError, match="searched with seed=0, not 3"):
        open_run(run, {**CONFIG, "seed": 3}, True, FIXED)
    with open_run(run, {**CONFIG, "metric": "snip"}, True, FIXED) as store:  # not fixed
        assert store.config()["metric"] == "params"  # the stored config is kept
        store.finish("finished")
    with pytest.raises(TinyNASError, match="is a finished run"):
        open_run(run, CONFIG, True, FIXED)


def test_a_refused_resume_releases_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    open_run(run, CONFIG, False, FIXED).close()
    with pytest.raises(TinyNASError):
        open_run(run, {**CONFIG, "device": "esp32"}, True, FIXED)
    open_run(run, CONFIG, True, FIXED).close()  # the writer's lock was not kept


@pytest.mark.parametrize("leftover", ["empty file", "database without tables"])
def test_a_folder_whose_store_creation_was_cut_short_starts_again(tmp_path: Path,
                                                                  leftover: str) -> None:
    import sqlite3

    run = tmp_path / "run"
    run.mkdir()
    if leftover == "empty file":
        (run / "run.db").write_bytes(b"")
    else:  # a header and nothing else, as a kill during an older creation could leave
        conn = sqlite3.connect(run / "run.db")
        conn.execute("PRAGMA user_version = 1")  # writes page 1, the header
        conn.close()
        assert (run / "run.db").stat().st_size > 0
    assert not RunStore.holds_run(run)
    with pytest.raises(TinyNASError, match="stopped while its store was being created, before "
                                           "anything was stored; start it again without"):
        open_run(run, CONFIG, True, FIXED)
    with open_run(run, CONFIG, False, FIXED) as store:
        assert store.config() == CONFIG
    assert RunStore.holds_run(run)


def test_a_run_db_that_is_not_ours_is_never_taken_over(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.db").write_bytes(b"my own file, not SQLite" * 10)
    assert RunStore.holds_run(run)
    with pytest.raises(TinyNASError, match="already holds a run"):
        open_run(run, CONFIG, False, FIXED)
    assert (run / "run.db").read_bytes() == b"my own file, not SQLite" * 10
