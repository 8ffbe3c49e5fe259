"""The exploration stage: ask the strategy, reject over-budget candidates, score the rest.

Every result is committed to the run store as it is produced. On resume the stored results
are replayed through the strategy first, and a candidate already in the store is never
evaluated twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.estimators import Budget, estimate
from tinynas.search import BaseStrategy
from tinynas.space import Architecture
from tinynas.store import CandidateStatus, RunStore

# A strategy that keeps proposing stored candidates is stuck: stop after this many in a row.
MAX_REPEATS_IN_A_ROW = 1000


@dataclass(frozen=True)
class ExploreLimits:
    candidates: int | None = None  # candidates evaluated (rejected or scored), resumed included
    time_budget_s: float | None = None  # wall-clock seconds of this process's exploration


def replay(store: RunStore, strategy: BaseStrategy, metric_name: str) -> int:
    """Tells the strategy every stored result in evaluation order; returns how many."""
    records = store.candidates()
    for record in records:
        score = (record.scores.get(metric_name)
                 if record.status != CandidateStatus.REJECTED else None)
        strategy.tell(record.architecture, score)
    return len(records)


def resize_batch(batch: tuple[np.ndarray, np.ndarray],
                 arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
    """The metric batch at the candidate's input resolution (grid strategy)."""
    x, y = batch
    if tuple(x.shape[1:]) == tuple(arch.input_shape):
        return batch
    import torch

    from tinynas.train import fit_inputs

    return fit_inputs(torch.from_numpy(x), arch.input_shape).numpy(), y


def explore(
    store: RunStore,
    strategy: BaseStrategy,
    metric: Any,
    batch: tuple[np.ndarray, np.ndarray],
    device: Device,
    budget: Budget,
    limits: ExploreLimits,
    seed: int,
    on_result: Callable[[int], None] | None = None,
) -> int:
    """Evaluates candidates until a limit is reached; returns how many are stored in all."""
    evaluated = store.count()
    start = time.monotonic()
    repeats = 0
    while not _done(evaluated, start, limits):
        arch = strategy.ask()
        stored = store.find(arch.content_hash)
        if stored is not None:  # already evaluated: its result again, never a second row
            strategy.tell(arch, None if stored.status == CandidateStatus.REJECTED
                          else stored.scores.get(metric.name))
            repeats += 1
            if repeats >= MAX_REPEATS_IN_A_ROW:
                break
            continue
        repeats = 0
        est = estimate(arch, device)
        reasons = budget.violations(est)
        if reasons:
            store.add_candidate(arch, CandidateStatus.REJECTED, est.to_dict(),
                                reject_reason="; ".join(reasons))
            strategy.tell(arch, None)
        else:
            score = float(metric.score(arch, resize_batch(batch, arch), seed))
            store.add_candidate(arch, CandidateStatus.SCORED, est.to_dict(),
                                {metric.name: score})
            strategy.tell(arch, score)
        evaluated += 1
        if on_result is not None:
            on_result(evaluated)
    return evaluated


def _done(evaluated: int, start: float, limits: ExploreLimits) -> bool:
    if limits.candidates is not None and evaluated >= limits.candidates:
        return True
    return limits.time_budget_s is not None and time.monotonic() - start >= limits.time_budget_s
