"""A `tinynas search` killed with SIGKILL mid-exploration loses nothing, and --resume finishes it.

The issue's acceptance test: a real search process is killed once at least KILL_AFTER
candidates are stored; the same command with --resume then runs to the end. Every candidate
stored before the kill must still be there, unchanged, none may be evaluated twice, and the
run must end with exactly --candidates candidates and a chosen model. A search stopped in its
successive halving resumes with the shortlist it started with and trains nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from search_helpers import MAX_RAM, search_args

from tinynas.errors import StoreError
from tinynas.pipeline import SearchConfig, run_search
from tinynas.store import RunStore, summarize

CANDIDATES = 800  # a few seconds of exploration: relu_count is analytic
KILL_AFTER = 100
Stored = dict[int, tuple[str, str, dict[str, float]]]  # id -> (hash, created_at, scores)


def stored_count(run: Path) -> int:
    """How many candidates the run store holds now (0 before its schema is written)."""
    try:
        with RunStore.open(run, writable=False) as store:
            return store.count()
    except StoreError:
        return 0


def wait_for_candidates(proc: subprocess.Popen[bytes], run: Path, n: int, log: Path) -> None:
    """Polls the store read-only until it holds `n` candidates; fails if `proc` ends first."""
    deadline = time.monotonic() + 180
    while stored_count(run) < n:
        assert proc.poll() is None, f"the search ended first:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"fewer than {n} candidates after 180 s"
        time.sleep(0.02)


def stored(run: Path) -> Stored:
    with RunStore.open(run, writable=False) as store:
        return {c.id: (c.hash, c.created_at, c.scores) for c in store.candidates()}


@pytest.mark.slow
@pytest.mark.cli
def test_a_killed_search_resumes_without_losing_or_repeating_a_candidate(tmp_path: Path) -> None:
    run, log = tmp_path / "run", tmp_path / "first.log"
    with log.open("w") as err:
        first = subprocess.Popen(search_args(run, CANDIDATES, *MAX_RAM, "--json"), cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        try:
            wait_for_candidates(first, run, KILL_AFTER, log)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    before = stored(run)
    assert KILL_AFTER <= len(before) < CANDIDATES
    assert summarize(run).status == "interrupted"

    argv = search_args(run, CANDIDATES, *MAX_RAM, "--resume", "--json")
    resumed = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = stored(run)
    assert {i: after.get(i) for i in before} == before  # nothing lost, nothing redone
    assert min(set(after) - set(before)) > max(before)
    assert len(after) == CANDIDATES
    assert len({content_hash for content_hash, _, _ in after.values()}) == CANDIDATES
    summary = json.loads(resumed.stdout)
    assert summary["evaluated"] == CANDIDATES
    with RunStore.open(run, writable=False) as store:
        chosen, status = store.chosen(), store.get_meta("status")
    assert status == "finished"
    assert chosen is not None and (chosen.id, chosen.hash) == (summary["candidate_id"],
                                                               summary["hash"])  # fmt: skip
    assert (run / "model.tflite").stat().st_size == summary["flash_bytes"]


class _Interrupted(Exception):
    pass


@pytest.mark.slow
@pytest.mark.train
def test_a_search_stopped_in_successive_halving_resumes_with_the_same_shortlist(
    tmp_path: Path,
) -> None:
    # stopped right after its first training is committed, as a kill at that moment would
    config = SearchConfig(device="stm32", out=tmp_path / "run", dataset="digits",
                          strategy="random", metric="relu_count", candidates=300, shortlist=4,
                          halving_epochs=0.2, epochs=0.5, train_subset=300)

    def stop_after_the_first_training(stage: str, done: int, total: int | None) -> None:
        if stage == "train" and done == 1:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        run_search(config, progress=stop_after_the_first_training)
    with RunStore.open(config.out, writable=False) as store:
        (first,) = store.trainings()
    summary = run_search(config, resume=True)
    with RunStore.open(config.out, writable=False) as store:
        trainings = store.trainings()
    stages = [(t.candidate_id, t.stage) for t in trainings]
    assert len(stages) == len(set(stages))  # nothing trained twice
    assert trainings[0] == first
    rung0 = [cid for cid, stage in stages if stage == "halving-0"]
    assert len(rung0) == config.shortlist  # the shortlist it started with, not another one
    assert [cid for cid, stage in stages if stage == "halving-1"] != []
    assert (summary.candidate_id, "final") in stages


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def _continue(run: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Continues a killed run as its error line says: --resume, or a new start when the kill
    came before anything was stored."""
    argv = search_args(run, 20, "--resume", "--json")
    resumed = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    if resumed.returncode != 0 and ("start it again without --resume" in resumed.stderr
                                    or "nothing to resume" in resumed.stderr):
        assert resumed.stderr.count("\n") == 1, resumed.stderr
        argv = search_args(run, 20, "--json")
        resumed = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return resumed


@pytest.mark.slow
@pytest.mark.cli
@pytest.mark.parametrize("delay_ms", [0, 20, 100])
def test_a_search_killed_in_its_first_100_ms_starts_again(tmp_path: Path, delay_ms: int) -> None:
    """Killed this long after its run folder appears (the store is being created)."""
    run = tmp_path / "run"
    proc = subprocess.Popen(search_args(run, 20, "--json"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not run.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(delay_ms / 1000)
    _kill(proc)
    result = _continue(run, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["evaluated"] == 20
    assert (run / "model.tflite").is_file()


@pytest.mark.slow
@pytest.mark.cli
def test_a_search_killed_while_finishing_delivers_once_on_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = subprocess.Popen(search_args(run, 20, "--json"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while True:  # the winner's full training is committed: conversion and export follow
            assert proc.poll() is None, "the search ended before it could be killed"
            assert time.monotonic() < deadline
            with contextlib.suppress(StoreError), RunStore.open(run, writable=False) as store:
                if any(t.stage == "final" for t in store.trainings()):
                    break
            time.sleep(0.01)
    finally:
        _kill(proc)
    resumed = _continue(run, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with RunStore.open(run, writable=False) as store:
        stages = [(t.candidate_id, t.stage) for t in store.trainings()]
        assert store.get_meta("status") == "finished" and store.chosen() is not None
    assert len(stages) == len(set(stages))  # the winner trained once and evaluated once
    assert [s for _, s in stages].count("final-test") == 1
    assert (run / "model.tflite").is_file() and (run / "report.md").is_file()
