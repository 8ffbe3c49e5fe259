"""Training jobs: what an executor runs, and the function that runs one on any worker.

A job carries everything a worker needs but the dataset (the architecture as JSON, the recipe,
the seed, and the starting weights as bytes), so workers need no shared filesystem: the data
goes to each worker once per run, and the trained weights come back as bytes in the outcome,
for the driver to write. The driver alone writes the run store.
"""

from __future__ import annotations

import io
import os
import socket
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinynas import __version__
from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.space import Architecture
from tinynas.train import SoftTargets, TrainConfig, evaluate, train

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet

COLLAPSE_RESEED = 7919  # a run that collapsed to chance is trained again with seed + this
# without a validation split (the winner's final training), a collapse is judged on this many
# of the training images: a network at chance on the images it trained on has collapsed
COLLAPSE_PROBE = 2000


class VersionMismatch(TinyNASError):
    """A worker runs another tinynas than the driver."""


@dataclass(frozen=True)
class TrainJob:
    """One training: `arch_json` trained with `config` and `seed`, from `weights` (a state dict
    saved by :func:`net_bytes`) or from scratch."""

    key: tuple[int, str]  # what the driver records it as: (candidate id, stage)
    arch_json: str
    config: TrainConfig
    seed: int
    weights: bytes | None = None
    reseed_collapsed: bool = True  # from scratch, a collapse to chance is retrained once
    threads: int = 0  # torch CPU threads for the job; 0 leaves the process's setting
    soft: SoftTargets | None = None  # a teacher's logits to distill (the final training)
    curve: bool = False  # measure the validation accuracy after each epoch too


@dataclass(frozen=True)
class TrainOutcome:
    """What came back of a job: the trained weights and accuracy, or the error that ended it."""

    key: tuple[int, str]
    val_accuracy: float | None
    train_seconds: float
    device: str  # "cpu" or "cuda"
    weights: bytes
    worker: str  # "host:pid" of the process that trained
    error: str | None = None  # the job failed for good: its last line
    curve: tuple[float, ...] = ()  # validation accuracy after each epoch (TrainJob.curve)
    reseeded: bool = False  # the first training collapsed to chance; these weights are the retry's

    @property
    def failed(self) -> bool:
        return self.error is not None

    @classmethod
    def failure(cls, key: tuple[int, str], worker: str, error: str) -> TrainOutcome:
        """The outcome of a job that ended with `error` (no weights, no accuracy)."""
        return cls(key, None, 0.0, "cpu", b"", worker, error=error)


def net_bytes(net: TorchNet) -> bytes:
    """A network's state dict as bytes (torch's format)."""
    import torch

    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    return buffer.getvalue()


def net_from_bytes(arch: Architecture, data: bytes) -> TorchNet:
    """A network of `arch` holding the weights of :func:`net_bytes`."""
    import torch

    from tinynas.space.torch_builder import build_torch

    net = build_torch(arch)
    net.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    return net


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def collapsed(accuracy: float, num_classes: int) -> bool:
    """Whether a validation accuracy is at chance (a known failure of tiny-CNN training)."""
    return accuracy < 1.5 / num_classes


def check_version(driver_version: str) -> None:
    """Raises :class:`VersionMismatch` unless this process runs the driver's tinynas."""
    if driver_version != __version__:
        raise VersionMismatch(
            f"worker {worker_name()} runs tinynas {__version__}, the driver {driver_version}; "
            "install the same tinynas (and torch) on every node"
        )


def run_train_job(job: TrainJob, data: SplitData, driver_version: str = __version__
                  ) -> TrainOutcome:  # fmt: skip
    """Runs one job in this process; a job that raises comes back as a failed outcome (a
    worker that dies is its executor's to retry)."""
    check_version(driver_version)
    try:
        return _train(job, data)
    except Exception as e:  # one failing architecture must not end the run
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return TrainOutcome.failure(job.key, worker_name(), last)


def _train(job: TrainJob, data: SplitData) -> TrainOutcome:
    import torch

    if job.threads:
        torch.set_num_threads(job.threads)
    arch = Architecture.from_json(job.arch_json)
    net = None if job.weights is None else net_from_bytes(arch, job.weights)
    result = train(arch, data.x_train, data.y_train, data.x_val, data.y_val, job.config,
                   job.seed, net=net, soft=job.soft, curve=job.curve)  # fmt: skip
    validated = len(data.x_val) > 0
    reseed = net is None and job.reseed_collapsed and collapsed(
        result.val_accuracy if validated else _probe_accuracy(result.net, data),
        data.num_classes)
    if reseed:
        result = train(arch, data.x_train, data.y_train, data.x_val, data.y_val, job.config,
                       job.seed + COLLAPSE_RESEED, soft=job.soft, curve=job.curve)  # fmt: skip
    return TrainOutcome(job.key, result.val_accuracy if validated else None,
                        result.train_seconds, result.device, net_bytes(result.net),
                        worker_name(), curve=result.curve if validated else (),
                        reseeded=reseed)  # fmt: skip


def _probe_accuracy(net: TorchNet, data: SplitData) -> float:
    """Accuracy of `net` on the first COLLAPSE_PROBE of the images it trained on."""
    import torch

    return evaluate(net, torch.as_tensor(data.x_train[:COLLAPSE_PROBE]),
                    torch.as_tensor(data.y_train[:COLLAPSE_PROBE]))
