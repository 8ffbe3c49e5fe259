"""Where trainings run: independent jobs handed to an executor (this process, local worker
processes, or Ray), their outcomes yielded as they finish for the driver to record."""

from __future__ import annotations

from tinynas.errors import TinyNASError
from tinynas.executor._base import MAX_TRIES, Executor
from tinynas.executor._jobs import (
    COLLAPSE_RESEED,
    TrainJob,
    TrainOutcome,
    VersionMismatch,
    check_version,
    collapsed,
    net_bytes,
    net_from_bytes,
    run_train_job,
)
from tinynas.executor._local import InlineExecutor, ProcessExecutor


def make_executor(workers: int = 0, ray: str | None = None, gpus_per_job: float = 0.0,
                  cpus_per_job: float = 1.0) -> Executor:
    """The executor a command asked for: `ray` (None: not Ray; "": a local Ray or
    $RAY_ADDRESS; else the cluster's address), else `workers` local processes (0: this
    process). With `ray`, `workers` > 0 gives a local Ray that many CPUs."""
    if ray is not None:
        from tinynas.executor._ray import RayExecutor

        return RayExecutor(ray or None, cpus_per_job, gpus_per_job, num_cpus=workers or None)
    if gpus_per_job:
        raise TinyNASError("--gpus-per-job packs jobs onto GPUs through Ray: add --ray")
    return ProcessExecutor(workers) if workers > 0 else InlineExecutor()


__all__ = [
    "COLLAPSE_RESEED",
    "MAX_TRIES",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "TrainJob",
    "TrainOutcome",
    "VersionMismatch",
    "check_version",
    "collapsed",
    "make_executor",
    "net_bytes",
    "net_from_bytes",
    "run_train_job",
]
