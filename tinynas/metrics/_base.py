"""The metric interface and its registry.

A trainingless metric scores an architecture at initialisation, without training it, so that a
search can rank thousands of candidates in the time one training takes
(reference/search-and-metrics.md section 3). Every score is *predicted*: it is a proxy for the
accuracy the network would reach, never a measurement of it.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from tinynas.errors import TinyNASError
from tinynas.space import Architecture

Batch = tuple[np.ndarray, np.ndarray]  # images (N, *input_shape) float, labels (N,) int
COSTS = ("analytic", "forward", "backward", "fitted")


class MetricError(TinyNASError):
    """A metric that cannot score: unknown name, bad option, missing or malformed batch."""


class NotFittedError(MetricError):
    """A fitted metric (``cost == "fitted"``) asked to score before ``fit`` was called."""


class BaseMetric(abc.ABC):
    """A trainingless metric: architecture (and a batch) in, one float out, higher = better.

    Lifecycle:
        1. ``get_metric(name, **options)`` creates the metric; the options are the keyword
           arguments of the subclass's ``__init__`` and are checked there.
        2. A metric whose ``cost`` is ``"fitted"`` must be fitted on architectures with known
           accuracies before it scores (see ``LearnedMetric.fit``); it raises
           ``NotFittedError`` otherwise. Other metrics are ready at once.
        3. The search loop calls ``score(arch, batch, seed)`` once per candidate that the
           estimators accepted, with the same batch and seed for every candidate of a run.
           ``score`` checks the batch, then calls ``_compute``. A metric that runs a network
           builds it itself with ``build_torch(arch)`` after ``torch.manual_seed(seed)``, on the
           CPU, inside a forked torch RNG: the caller's RNG and grad mode are left as they were,
           and the same (arch, batch, seed) always gives the same score.
        4. ``score_population(archs, batch, seed)`` scores many candidates at once; it equals
           ``[score(a, batch, seed) for a in archs]`` except for metrics whose score is relative
           to a population (``EnsembleMetric``).

    Class attributes:
        name: the registry key (short, lowercase).
        needs_data: True when ``score`` needs a real batch; such a metric raises
            ``MetricError`` without one. A metric with ``needs_data = False`` ignores the batch.
        cost: ``"analytic"`` (no tensors), ``"forward"`` (one forward pass), ``"backward"``
            (gradients) or ``"fitted"`` (a model fitted on measured accuracies).
        description: one line for ``tinynas proxies``.
        higher_is_better: always True; metrics whose source ranks the other way are negated,
            and their docstring says so.
        degenerate_value: the documented value returned where the metric is undefined (e.g. a
            network whose outputs do not depend on its input); None when every score is finite.
    """

    name: ClassVar[str] = ""
    needs_data: ClassVar[bool] = False
    cost: ClassVar[str] = "analytic"
    description: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    degenerate_value: ClassVar[float | None] = None

    def score(self, arch: Architecture, batch: Batch | None = None, seed: int = 0) -> float:
        """The metric's score of `arch` (higher = better).

        Args:
            arch: The candidate.
            batch: Images (N, *arch.input_shape) and integer labels (N,); required when
                ``needs_data``, ignored otherwise.
            seed: Seeds the network's initialisation and any random input.

        Raises:
            MetricError: A missing or malformed batch, or a metric that cannot score.
        """
        data = check_batch(self.name, arch, batch) if self.needs_data else None
        if self.cost in ("forward", "backward"):
            from tinynas.metrics._nets import torch_scope

            with torch_scope(seed):
                return float(self._compute(arch, data, seed))
        return float(self._compute(arch, data, seed))

    def score_population(
        self, archs: Sequence[Architecture], batch: Batch | None = None, seed: int = 0
    ) -> list[float]:
        """Scores of many candidates (see the lifecycle, step 4)."""
        return [self.score(arch, batch, seed) for arch in archs]

    @abc.abstractmethod
    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        """The score; `batch` has been checked (and is None when not ``needs_data``)."""


@dataclass(frozen=True)
class MetricInfo:
    """What ``tinynas proxies`` lists about one metric."""

    name: str
    needs_data: bool
    cost: str
    description: str
    higher_is_better: bool
    options: tuple[str, ...]  # keyword options of get_metric


METRICS: dict[str, type[BaseMetric]] = {}


M = TypeVar("M", bound=type[BaseMetric])


def register(cls: M) -> M:
    """Class decorator: adds a metric to ``METRICS`` under its ``name``."""
    if not cls.name or cls.cost not in COSTS:
        raise TypeError(f"metric {cls.__name__} needs a name and a cost in {COSTS}")
    METRICS[cls.name] = cls
    return cls


def get_metric(name: str, **options: Any) -> BaseMetric:
    """A new metric by registry name, created with `options`.

    Raises:
        MetricError: An unknown name, or an option the metric does not take.
    """
    if name not in METRICS:
        raise MetricError(
            f"unknown metric {name!r}; choose one of {', '.join(sorted(METRICS))} "
            "(run 'tinynas proxies list' to list them)"
        )
    cls = METRICS[name]
    known = _options(cls)
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) if known else "no options"
        raise MetricError(f"metric {name!r} has no option {', '.join(unknown)}; it takes {takes}")
    return cls(**options)


def list_metrics() -> list[MetricInfo]:
    """Every registered metric, sorted by name."""
    return [
        MetricInfo(cls.name, cls.needs_data, cls.cost, cls.description, cls.higher_is_better,
                   _options(cls))
        for _, cls in sorted(METRICS.items())
    ]


def _options(cls: type[BaseMetric]) -> tuple[str, ...]:
    """The keyword options of a metric's ``__init__``."""
    init: Callable[..., None] = cls.__init__
    if init is object.__init__:
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(inspect.signature(init).parameters.values())[1:]  # without self
    return tuple(p.name for p in params if p.kind in kinds)


def check_batch(name: str, arch: Architecture, batch: Batch | None) -> Batch:
    """`batch` as float32 images and int64 labels, after checking it fits `arch`.

    Raises:
        MetricError: No batch, fewer than two samples, a shape that is not the architecture's
            input shape, or labels outside [0, num_classes).
    """
    if batch is None:
        raise MetricError(f"metric {name!r} needs a batch of data (images, labels); pass one")
    x, y = np.asarray(batch[0], dtype=np.float32), np.asarray(batch[1])
    if x.ndim < 2 or tuple(x.shape[1:]) != tuple(arch.input_shape):
        raise MetricError(
            f"metric {name!r}: batch images have shape {x.shape}; expected "
            f"(N, {', '.join(map(str, arch.input_shape))}) for this architecture"
        )
    if len(x) < 2:
        raise MetricError(f"metric {name!r} needs at least 2 samples in the batch; got {len(x)}")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise MetricError(
            f"metric {name!r}: batch labels must be {len(x)} integers; got shape {y.shape}, "
            f"dtype {y.dtype}"
        )
    if y.min() < 0 or y.max() >= arch.num_classes:
        raise MetricError(
            f"metric {name!r}: labels must lie in [0, {arch.num_classes}); got "
            f"[{y.min()}, {y.max()}]"
        )
    return x, y.astype(np.int64)
