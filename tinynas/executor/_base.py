"""The executor seam: independent training jobs in, outcomes out as each one finishes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from types import TracebackType

from tinynas.data import SplitData
from tinynas.executor._jobs import TrainJob, TrainOutcome

MAX_TRIES = 3  # runs of a job whose worker died, before it is recorded failed


class Executor(ABC):
    """Runs :class:`TrainJob` s and yields their :class:`TrainOutcome` s in the order they
    finish. The caller (the driver) records each outcome; an executor writes nothing. A job
    that raises comes back failed; a worker that dies is retried (``MAX_TRIES`` runs) and then
    comes back failed, so every job yields exactly one outcome."""

    backend: str  # "local", "local processes", "ray"
    workers: int  # jobs that can run at once
    job_threads: int = 0  # torch CPU threads each job trains with; 0: the process's setting

    @abstractmethod
    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        """The outcome of every job of `jobs`, trained on `data`, as each finishes."""

    @abstractmethod
    def describe(self) -> str:
        """Where the jobs run, for progress lines and summaries."""

    def close(self) -> None:  # noqa: B027 (an executor without resources has nothing to close)
        """Release workers and data."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()
