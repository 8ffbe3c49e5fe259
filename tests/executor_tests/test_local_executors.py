"""The executors of this machine: jobs in, one outcome per job out, the same trainings whether
they run in this process or in worker processes, and a worker killed mid-job is retried."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from tinynas import __version__
from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.executor import (
    InlineExecutor,
    ProcessExecutor,
    TrainJob,
    VersionMismatch,
    make_executor,
    net_from_bytes,
    run_train_job,
)
from tinynas.space import Architecture, Pooling
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig

pytestmark = pytest.mark.train  # tiny trainings, a second or two each

ARCH = Architecture((8, 8, 1), 3, (serial(conv(4, 3)),), Pooling("avg", 2), ())


def _data(n: int = 120) -> SplitData:
    rng = np.random.default_rng(0)
    x = rng.random((n, 8, 8, 1), np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) * 3).astype(np.int64).clip(0, 2)
    return SplitData(x[: n - 30], y[: n - 30], x[n - 30:], y[n - 30:], 3)


def _jobs(count: int, epochs: float = 1.0) -> list[TrainJob]:
    return [TrainJob((i, "halving-0"), ARCH.to_json(), TrainConfig(epochs=epochs), seed=i,
                     threads=1) for i in range(count)]  # fmt: skip


def test_worker_processes_train_exactly_what_this_process_trains() -> None:
    data, jobs = _data(), _jobs(3)
    inline = {o.key: o for o in InlineExecutor().run(jobs, data)}
    with ProcessExecutor(2) as executor:
        pooled = {o.key: o for o in executor.run(jobs, data)}
    assert inline.keys() == pooled.keys() == {job.key for job in jobs}
    for key, outcome in inline.items():
        assert not outcome.failed and outcome.val_accuracy == pooled[key].val_accuracy
        assert outcome.weights == pooled[key].weights  # the same state dict, byte for byte
    assert all(o.worker.rsplit(":", 1)[1] != str(os.getpid()) for o in pooled.values())


def test_a_job_continues_from_the_weights_it_is_given() -> None:
    data = _data()
    (first,) = InlineExecutor().run(_jobs(1), data)
    job = TrainJob((0, "halving-1"), ARCH.to_json(), TrainConfig(epochs=1.0), 0, first.weights)
    (second,) = InlineExecutor().run([job], data)
    import torch

    before = net_from_bytes(ARCH, first.weights).state_dict()
    after = net_from_bytes(ARCH, second.weights).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_a_job_that_raises_comes_back_failed_and_the_others_complete() -> None:
    bad = TrainJob((9, "halving-0"), '{"not": "an architecture"}', TrainConfig(epochs=0.5), 0)
    outcomes = list(InlineExecutor().run([bad, *_jobs(1, 0.5)], _data()))
    assert [o.key for o in outcomes] == [(9, "halving-0"), (0, "halving-0")]
    assert outcomes[0].failed and outcomes[0].error and not outcomes[1].failed


def test_a_worker_of_another_tinynas_version_is_refused() -> None:
    with pytest.raises(VersionMismatch, match=f"runs tinynas {__version__}, the driver 0.0.0"):
        run_train_job(_jobs(1)[0], _data(), driver_version="0.0.0")


def test_gpu_packing_needs_ray() -> None:
    with pytest.raises(TinyNASError, match="--gpus-per-job .* add --ray"):
        make_executor(gpus_per_job=0.25)
    assert isinstance(make_executor(), InlineExecutor)
    assert make_executor(workers=2).workers == 2


@pytest.mark.slow
def test_a_killed_worker_process_is_replaced_and_its_job_run_again() -> None:
    data, jobs = _data(2000), _jobs(2, epochs=40.0)
    executor = ProcessExecutor(2)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pool = executor._pool
            pids = list(pool._processes) if pool is not None and pool._processes else []
            if len(pids) == 2:
                time.sleep(0.5)  # the workers hold their jobs (they take seconds to start)
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        outcomes = list(executor.run(jobs, data))
    finally:
        killer.join()
        executor.close()
    assert killed, "no worker was killed"
    assert sorted(o.key for o in outcomes) == sorted(j.key for j in jobs)  # once each
    assert all(not o.failed for o in outcomes)
    assert all(o.worker.split(":")[1] != str(killed[0]) for o in outcomes)


def test_without_ray_installed_the_option_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(TinyNASError) as refused:
        make_executor(ray="")
    assert str(refused.value) == ("--ray needs Ray, which is not installed: pip install "
                                  "'tinynas[ray]'")  # fmt: skip


KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
from executor_tests.test_local_executors import _data, _jobs
from tinynas.executor import ProcessExecutor

with ProcessExecutor(2) as executor:
    for outcome in executor.run(_jobs(2, epochs=200.0), _data(2000)):
        pass
"""


@pytest.mark.slow
def test_a_run_killed_outright_takes_its_workers_with_it(tmp_path: object) -> None:
    """SIGKILL runs no clean-up code: the workers end through PR_SET_PDEATHSIG instead of
    training on for nobody."""
    import subprocess
    import sys
    from pathlib import Path

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    tests = str(Path(__file__).resolve().parents[1])
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN.format(tests=tests)])
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(run.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(2.0)  # they hold their jobs
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        run.kill()


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` that run Python (the pool's workers)."""
    from pathlib import Path

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_worker_killed_between_runs_does_not_break_the_next_run() -> None:
    data = _data()
    with ProcessExecutor(2) as executor:
        first = list(executor.run(_jobs(2), data))
        pool = executor._pool
        assert pool is not None and all(not o.failed for o in first)
        for pid in list(pool._processes):
            os.kill(pid, signal.SIGKILL)  # idle: no job of theirs is lost
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not pool._broken:
            time.sleep(0.05)
        again = list(executor.run(_jobs(2), data))
    assert sorted(o.key for o in again) == sorted(j.key for j in _jobs(2))
    assert all(not o.failed for o in again)
    assert [o.val_accuracy for o in again] == [o.val_accuracy for o in first]


@pytest.mark.parametrize("validated", [True, False])  # halving rungs; the final training
def test_a_training_from_scratch_that_collapses_to_chance_is_trained_again(
    validated: bool,
) -> None:
    from tinynas.data import load_dataset

    ds = load_dataset("digits")
    x, y = ds.x_train, ds.y_train
    held = slice(1200, 1500) if validated else slice(0, 0)
    data = SplitData(x[:1200], y[:1200], x[held], y[held], ds.num_classes)
    arch = Architecture(x.shape[1:], ds.num_classes, (serial(conv(8, 3)),),
                        Pooling("avg", 2), ())  # fmt: skip

    def job(lr: float, weights: bytes | None = None) -> TrainJob:
        return TrainJob((0, "final"), arch.to_json(), TrainConfig(epochs=15.0, lr=lr), 0,
                        weights, threads=1)  # fmt: skip

    healthy = run_train_job(job(0.05), data)
    exploding = run_train_job(job(1e4), data)  # weights blow up: every image one class
    assert not healthy.failed and not healthy.reseeded
    assert not exploding.failed and exploding.reseeded
    assert (exploding.val_accuracy is not None) == validated
    # a training that continues given weights is the caller's to judge: never reseeded
    continued = run_train_job(job(1e4, healthy.weights), data)
    assert not continued.reseeded
