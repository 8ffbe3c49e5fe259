"""Jobs on Ray (https://docs.ray.io): a local Ray started for the run, or a cluster joined.

The dataset is put in Ray's object store once per run and every job reads it from there, so
workers need no shared filesystem; weights come back in the outcomes. Each job asks Ray for
`cpus_per_job` CPUs and `gpus_per_job` of a GPU: a fraction packs several tiny trainings onto
one GPU. A worker that dies is retried by Ray (``max_retries``); a job whose retries are spent
comes back failed. Ray is an optional dependency (``pip install 'tinynas[ray]'``), imported
only here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from tinynas import __version__
from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.executor._base import MAX_TRIES, Executor
from tinynas.executor._jobs import TrainJob, TrainOutcome, VersionMismatch, run_train_job

INSTALL = "pip install 'tinynas[ray]'"
PROBE_TIMEOUT_S = 5.0  # a cluster address that does not answer in this long is unreachable


class RayError(TinyNASError):
    """Ray is missing, the cluster cannot be reached, or it cannot hold the run."""


class RayExecutor(Executor):
    """Jobs as Ray tasks. `address`: None starts a local Ray (or joins ``$RAY_ADDRESS`` when
    set), "auto" joins the cluster started on this machine, "HOST:PORT" joins that one.
    `num_cpus` and `object_store_bytes` size a local Ray (default: the machine's CPUs, and
    Ray's share of its memory)."""

    backend = "ray"

    def __init__(self, address: str | None = None, cpus_per_job: float = 1.0,
                 gpus_per_job: float = 0.0, num_cpus: int | None = None,
                 object_store_bytes: int | None = None) -> None:  # fmt: skip
        ray = _import_ray()
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address not in (None, "auto", "local") and not address.startswith("ray://"):
            _probe(address)
        from tinynas.native import quiet

        self._started = not ray.is_initialized()
        try:
            if self._started:
                with quiet():  # the C++ client logs its connection retries to fd 2
                    local = address is None
                    ray.init(address=address, num_cpus=num_cpus if local else None,
                             object_store_memory=object_store_bytes if local else None,
                             include_dashboard=False, log_to_driver=False,
                             configure_logging=False)  # fmt: skip
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise RayError(f"cannot start or join Ray at {address or 'a local instance'} "
                           f"({_first_line(e)}); check the address, or start the cluster "
                           "with 'ray start --head'") from e  # fmt: skip
        self._ray = ray
        self.address = address or "local"
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(cpus // cpus_per_job)) if cpus_per_job else cpus
        self._task = ray.remote(num_cpus=cpus_per_job, num_gpus=gpus_per_job,
                                max_retries=MAX_TRIES - 1)(run_train_job)  # fmt: skip
        self._threads = max(1, int(cpus_per_job))
        self.job_threads = self._threads
        self._data_ref: Any = None
        self._data: SplitData | None = None
        self._gpus_per_job = gpus_per_job

    def describe(self) -> str:
        gpus = f", {self._gpus_per_job:g} GPU per job" if self._gpus_per_job else ""
        return f"ray at {self.address}, {self.workers} job(s) at once{gpus}"

    def _put(self, data: SplitData) -> Any:
        if self._data is not data:
            need = sum(a.nbytes for a in (data.x_train, data.y_train, data.x_val, data.y_val))
            room = self._ray.cluster_resources().get("object_store_memory", 0)
            if room and need > room:
                raise RayError(f"the dataset needs {need:,} B in Ray's object store, the "
                               f"cluster has {int(room):,} B; give the nodes more memory "
                               "(ray start --object-store-memory) or use --train-subset")
            self._data_ref, self._data = self._ray.put(data), data
        return self._data_ref

    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        from dataclasses import replace

        data_ref = self._put(data)
        pending = {}
        for job in jobs:
            job = job if job.threads else replace(job, threads=self._threads)
            pending[self._task.remote(job, data_ref, __version__)] = job
        while pending:
            done, _ = self._ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            yield self._outcome(done[0], job)

    def _outcome(self, ref: Any, job: TrainJob) -> TrainOutcome:
        from ray.exceptions import RayTaskError, WorkerCrashedError

        try:
            return self._ray.get(ref)
        except RayTaskError as e:
            cause = e.as_instanceof_cause()
            if isinstance(cause, VersionMismatch):
                raise VersionMismatch(_first_line(cause)) from None
            return TrainOutcome.failure(job.key, "ray", _first_line(e))
        except WorkerCrashedError:
            return TrainOutcome.failure(job.key, "ray", f"its Ray worker died {MAX_TRIES} times")

    def close(self) -> None:
        self._data_ref, self._data = None, None
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def _import_ray() -> Any:
    import logging

    from tinynas.native import debugging

    try:
        import ray
    except ImportError:
        raise RayError(f"--ray needs Ray, which is not installed: {INSTALL}") from None
    if not debugging():  # Ray's notices (authentication mode, ...) only with tinynas --debug
        logging.getLogger("ray").setLevel(logging.ERROR)
        _keep_stdout_clean()
    return ray


def _keep_stdout_clean() -> None:
    """Ray's driver prints cluster notices ("(raylet) A worker died ...") to sys.stdout from
    a thread, which would break ``--json`` output; the executor reports what they are about
    itself (a retried or failed job). They are dropped here (shown under ``--debug``), by
    replacing the printer that thread looks up in ``ray._private.worker`` at each notice."""
    import importlib

    module = importlib.import_module("ray._private.worker")
    if hasattr(module, "print_to_stdstream"):
        setattr(module, "print_to_stdstream", lambda data, ignore_prefix: None)  # noqa: B010


def _probe(address: str) -> None:
    """Raises :class:`RayError` unless something answers at HOST:PORT within the timeout
    (ray.init would wait for minutes on an address that does not answer)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"--ray {address}: give the cluster's head as HOST:PORT (e.g. "
                       "10.0.0.5:6379), 'auto', or nothing to start a local Ray")  # fmt: skip
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        raise RayError(f"cannot reach the Ray cluster at {address} ({e.strerror or e}); start "
                       f"it with 'ray start --head --port {port}' on {host}, or check the "
                       "address") from None  # fmt: skip


def _first_line(e: BaseException) -> str:
    lines = [line for line in str(e).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(e).__name__
