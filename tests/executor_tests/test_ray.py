"""Searches on a real local Ray: the same run as the local backend, a worker killed mid-rung, a
driver killed and resumed, and the bad inputs a cluster brings (an address that does not
answer, a dataset larger than the object store, a worker of another tinynas)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import REPO_ROOT, cli_env, tinynas_argv

from tinynas.data import SplitData
from tinynas.store import CandidateStatus, RunStore
from tinynas.testing.cli import assert_one_line_error

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'tinynas[ray]'")

pytestmark = [pytest.mark.slow, pytest.mark.cli]

TINY = ("--device", "stm32", "--dataset", "digits", "--strategy", "random", "--metric",
        "relu_count", "--shortlist", "4", "--halving-epochs", "0.5", "--epochs", "0.5",
        "--train-subset", "600", "--candidates", "20", "--capacity-picks", "0",
        "--time-budget", "none")  # fmt: skip
# rungs of several seconds each, so that a process can be killed while one trains
LONG = ("--device", "stm32", "--dataset", "digits", "--strategy", "random", "--metric",
        "relu_count", "--shortlist", "4", "--halving-epochs", "4", "--epochs", "0.5",
        "--train-subset", "1000", "--candidates", "20", "--capacity-picks", "0",
        "--time-budget", "none")  # fmt: skip


def search(out: Path, *extra: str, args: tuple[str, ...] = TINY
           ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(tinynas_argv("search", *args, "--out", out, "--json", *extra),
                          cwd=REPO_ROOT, env=cli_env(), capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def start(out: Path, *extra: str, args: tuple[str, ...] = LONG) -> subprocess.Popen[str]:
    return subprocess.Popen(tinynas_argv("search", *args, "--out", out, "--json", *extra),
                            cwd=REPO_ROOT, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (children, theirs, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(condition: Any, timeout_s: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s")


def trainings(out: Path) -> list[tuple[int, str]]:
    with RunStore.open(out, writable=False) as store:
        return [(t.candidate_id, t.stage) for t in store.trainings()]


@pytest.mark.long
def test_a_search_on_ray_runs_the_same_search_as_in_this_process(tmp_path: Path) -> None:
    local = search(tmp_path / "local")
    on_ray = search(tmp_path / "ray", "--ray", "--workers", "2")
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    assert on_ray.stderr == ""  # Ray's own notices stay quiet
    summaries = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert summaries[0]["hash"] == summaries[1]["hash"]
    assert summaries[1]["executor"] == "ray at local, 2 job(s) at once"
    stores = [RunStore.open(tmp_path / name, writable=False) for name in ("local", "ray")]
    try:
        for status in (None, CandidateStatus.TRAINED):
            hashes = [[r.hash for r in s.candidates(status)] for s in stores]
            assert hashes[0] == hashes[1]  # same candidates, same shortlist
        accuracy = [{(t.candidate_id, t.stage): t.val_accuracy for t in s.trainings()}
                    for s in stores]  # fmt: skip
        assert accuracy[0] == accuracy[1]
        ran = {t.stage: t.device for t in stores[1].trainings() if t.stage != "final-test"}
        assert {"halving-0", "final"} <= set(ran)  # the winner's training too
        assert all(d.startswith("cpu on ") and d.endswith("(ray)") for d in ran.values())
    finally:
        for s in stores:
            s.close()


@pytest.mark.long
def test_a_ray_worker_killed_in_a_rung_is_retried_and_nothing_is_recorded_twice(
    tmp_path: Path,
) -> None:
    driver = start(tmp_path / "run", "--ray", "--workers", "2")
    try:
        def training_worker() -> int | None:
            return next((p for p in descendants(driver.pid)
                         if command_line(p).startswith("ray::run_train_job")), None)

        victim = wait_for(training_worker)
        time.sleep(1.0)  # well inside its training
        os.kill(victim, signal.SIGKILL)
        out, err = driver.communicate(timeout=600)
    finally:
        driver.kill()
    assert driver.returncode == 0, err
    done = trainings(tmp_path / "run")
    assert len(done) == len(set(done)), done  # no (candidate, stage) twice
    assert sum(stage == "halving-0" for _, stage in done) == 4
    assert json.loads(out)["hash"], (out, err)


@pytest.mark.long
def test_a_killed_ray_driver_resumes_without_losing_or_repeating_a_training(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    driver = start(run, "--ray", "--workers", "2")
    started: list[int] = []
    try:
        def some_trained() -> bool:
            started.extend(p for p in descendants(driver.pid) if p not in started)
            return (run / "run.db").exists() and len(trainings(run)) >= 2

        wait_for(some_trained)
        before = trainings(run)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        driver.kill()
        for pid in started:  # what the killed driver's local Ray left behind
            if command_line(pid):
                os.kill(pid, signal.SIGKILL)
    resumed = search(run, "--ray", "--workers", "2", "--resume", args=LONG)
    assert resumed.returncode == 0, resumed.stderr
    after = trainings(run)
    assert after[: len(before)] == before  # nothing lost
    assert len(after) == len(set(after)), after  # nothing repeated
    assert Counter(stage for _, stage in after)["halving-0"] == 4


def test_an_address_that_does_not_answer_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = search(tmp_path / "run", "--ray", "127.0.0.1:1")
    line = assert_one_line_error(result, empty_stdout=True)
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in line and "ray start --head" in line
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def small_ray() -> Any:
    """A local Ray of 1 CPU and an 80 MiB object store, in this process."""
    from tinynas.executor._ray import RayExecutor

    executor = RayExecutor(num_cpus=1, object_store_bytes=80 << 20)
    yield executor
    executor.close()


def _tiny_job() -> Any:
    from tinynas.executor import TrainJob
    from tinynas.space import Architecture, Pooling
    from tinynas.testing.archs import conv, serial
    from tinynas.train import TrainConfig

    arch = Architecture((8, 8, 1), 3, (serial(conv(4, 3)),), Pooling("avg", 2), ())
    return TrainJob((1, "halving-0"), arch.to_json(), TrainConfig(epochs=0.5), 0)


def test_a_dataset_larger_than_the_object_store_is_one_line(small_ray: Any) -> None:
    from tinynas.executor._ray import RayError

    x = np.zeros((1400, 128, 128, 1), np.float32)  # 92 MB
    data = SplitData(x, np.zeros(1400, np.int64), x[:10], np.zeros(10, np.int64), 3)
    with pytest.raises(RayError, match=r"needs 9\d,\d{3},\d{3} B in Ray's object store"):
        list(small_ray.run([_tiny_job()], data))


def test_a_worker_of_another_tinynas_is_refused_in_one_line(
    small_ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinynas.executor import VersionMismatch
    from tinynas.executor import _ray as ray_module

    rng = np.random.default_rng(0)
    x = rng.random((60, 8, 8, 1), np.float32)
    data = SplitData(x, np.arange(60) % 3, x[:10], np.arange(10) % 3, 3)
    (outcome,) = small_ray.run([_tiny_job()], data)  # the same version: trained
    assert not outcome.failed
    monkeypatch.setattr(ray_module, "__version__", "0.0.0-elsewhere")
    with pytest.raises(VersionMismatch) as refused:
        list(small_ray.run([_tiny_job()], data))
    assert "the driver 0.0.0-elsewhere" in str(refused.value)
    assert "install the same tinynas" in str(refused.value) and "\n" not in str(refused.value)
