"""Executors on this machine: in this process (the default), or in N worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tinynas import __version__
from tinynas.data import SplitData
from tinynas.executor._base import MAX_TRIES, Executor
from tinynas.executor._jobs import TrainJob, TrainOutcome, run_train_job, worker_name
from tinynas.processes import die_with_parent


class InlineExecutor(Executor):
    """Runs each job in this process, one after the other (tinynas's behaviour before
    executors): no start-up, no copies of the data."""

    backend = "local"

    def __init__(self) -> None:
        self.workers = 1

    def describe(self) -> str:
        return "local, in this process"

    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        for job in jobs:
            yield run_train_job(job, data)


_DATA: SplitData | None = None  # a worker process's copy of the run's data


def _take_data(data: SplitData, parent_pid: int) -> None:
    """A worker's start: end with the run if it is killed outright (no orphaned trainings),
    and keep the run's data."""
    global _DATA
    die_with_parent(parent_pid)
    _DATA = data


def _run_in_worker(job: TrainJob, version: str) -> TrainOutcome:
    assert _DATA is not None, "the worker was started without data"
    return run_train_job(job, _DATA, version)


class ProcessExecutor(Executor):
    """Runs jobs in `workers` processes of this machine (spawned, so no state is shared; each
    gets the data once, when it starts). Each job trains with an equal share of the CPU
    threads. A worker that dies takes its pool down: the pool is started again and the jobs
    that did not come back are run again, up to ``MAX_TRIES`` times each."""

    backend = "local processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._threads = max(1, (os.cpu_count() or 1) // workers)
        self.job_threads = self._threads
        self._pool: ProcessPoolExecutor | None = None
        self._pool_data: SplitData | None = None

    def describe(self) -> str:
        return f"local, {self.workers} worker processes ({self._threads} thread(s) each)"

    def _pool_for(self, data: SplitData) -> ProcessPoolExecutor:
        if self._pool is None or self._pool_data is not data:
            self.close()
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_take_data, initargs=(data, os.getpid()))  # fmt: skip
            self._pool_data = data
        return self._pool

    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        tries = {job.key: 0 for job in jobs}
        todo = [_with_threads(job, self._threads) for job in jobs]
        while todo:
            running = self._submit(todo, data)
            todo = []
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        tries[job.key] += 1
                        if tries[job.key] >= MAX_TRIES:
                            yield _lost(job, tries[job.key])
                        else:
                            todo.append(job)
            if todo:
                self.close()  # a broken pool takes no more jobs: start a fresh one

    def _submit(self, jobs: Sequence[TrainJob], data: SplitData) -> dict[Future[Any], TrainJob]:
        """Each job submitted to the pool; a pool that broke while it was idle (a worker killed
        between runs) is replaced first."""
        try:
            pool = self._pool_for(data)
            return {pool.submit(_run_in_worker, job, __version__): job for job in jobs}
        except BrokenProcessPool:
            self.close()
            pool = self._pool_for(data)
            return {pool.submit(_run_in_worker, job, __version__): job for job in jobs}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._pool_data = None, None


def _with_threads(job: TrainJob, threads: int) -> TrainJob:
    from dataclasses import replace

    return job if job.threads else replace(job, threads=threads)


def _lost(job: TrainJob, tries: int) -> TrainOutcome:
    return TrainOutcome.failure(job.key, worker_name(), f"its worker process died {tries} times")
