"""Making a run's plan: measure what its trainings cost on this machine, choose the settings
(`_plan.choose`) and the capacity picks they allow, and keep the plan in the run store.

The epoch-cost line is fitted through a few probes of the capacity pool and of the scored
candidates (and the teacher); the plan prices every member of the shortlist at its MACs cap.
The shortlist the cap allows is then drawn and measured (a ranker's pick far dearer than the
cap's price, which MACs alone can miss, is passed over for the next; the picks are kept in the
plan); when it costs more than the line said, the line is refitted with it and the plan chosen
again (REFITS times). A shortlist of 8
that fits no recipe is tried at the sizes of SMALLER_SHORTLISTS (when the user left the
shortlist open). A resumed run keeps the plan it stored: its
shortlist was trained under it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from tinynas.devices import Device
from tinynas.estimators import Budget, estimate
from tinynas.executor import Executor
from tinynas.metrics import BaseMetric
from tinynas.pipeline._config import SearchConfig
from tinynas.pipeline._explore import resize_batch
from tinynas.pipeline._plan import (
    Costs,
    EpochCost,
    NoPlanFits,
    RunPlan,
    choose,
    planned_shape,
    unplanned,
    with_measured,
)
from tinynas.search import SearchSpace, capacity_picks, capacity_pool, diverse_shortlist
from tinynas.space import Architecture
from tinynas.store import CandidateRecord, CandidateStatus, RunStore
from tinynas.train import TrainConfig

PROBES = 3  # capacity-pool networks measured to price the others: least, median, most MACs
REFITS = 3  # times the plan is chosen again when its capacity picks cost more than priced
SMALLER_SHORTLISTS = ((4, 2), (2, 1))  # (size, capacity picks) when 8 cannot be trained
DEAR_FACTOR = 2  # a ranker's pick this many times dearer than the cap's price is passed over


@dataclass(frozen=True)
class Planned:
    """A run's plan and the shortlist it trains."""

    plan: RunPlan
    shortlist: list[CandidateRecord]  # the ranker's picks, then the capacity picks


def plan_run(store: RunStore, config: SearchConfig, space: SearchSpace, device: Device,
             budget: Budget, metric: BaseMetric, scored: list[CandidateRecord],
             batch: tuple[np.ndarray, np.ndarray], x_train: np.ndarray, halving_images: int,
             final_images: int, test_images: int, recipe: TrainConfig, executor: Executor,
             deadline: float | None) -> Planned:
    """The plan (stored, or made and stored) and the shortlist of the run.

    Raises:
        NoPlanFits: The time left before `deadline` cannot train even the shortest recipe.
    """
    kept = store.get_meta("plan")
    if kept is not None:
        plan = RunPlan.from_dict(kept)
        return Planned(plan, _shortlist(store, config, space, device, budget, metric, scored,
                                        batch, plan))  # fmt: skip
    fixed = config.fixed_settings()
    if deadline is None:
        plan = RunPlan(unplanned(fixed))
    else:
        plan = _measured_plan(store, config, space, device, budget, metric, scored, x_train,
                              halving_images, final_images, test_images, recipe, executor,
                              deadline)
    shortlist = _shortlist(store, config, space, device, budget, metric, scored, batch, plan)
    store.set_meta("plan", plan.to_dict())
    return Planned(plan, shortlist)


def _measured_plan(store: RunStore, config: SearchConfig, space: SearchSpace, device: Device,
                   budget: Budget, metric: BaseMetric, scored: list[CandidateRecord],
                   x_train: np.ndarray, halving_images: int, final_images: int,
                   test_images: int, recipe: TrainConfig, executor: Executor,
                   deadline: float) -> RunPlan:
    from tinynas.train import pick_device, teacher_architecture

    size, picks = planned_shape(config.shortlist, config.capacity_picks)
    measure = _Meter(x_train, recipe, executor.job_threads)
    pool = capacity_pool(space, device, budget, config.seed) if picks else []
    candidates = [(r.architecture, r.estimates.get("macs", 0)) for r in scored]
    probes = _probes([(a, e.macs) for a, e in pool]) + _probes(candidates)
    measured = [(a, measure(a, final_images) / final_images) for a in probes]
    teacher = teacher_architecture(space.input_shape, space.num_classes)
    teacher_cost = 0.0 if config.distill is False or (config.epochs is not None
                                                      and not config.distill) \
        else measure(teacher, final_images)
    if teacher_cost:
        measured.append((teacher, teacher_cost / final_images))
    largest = max([e.macs for _, e in pool] + [m for _, m in candidates], default=0)
    costs = Costs(
        remaining_s=deadline - time.monotonic(), metric_picks_epoch_s=(),
        halving_images=halving_images, final_images=final_images, teacher_epoch_s=teacher_cost,
        test_images=test_images, epoch_cost=_fit(measured), pool_max_macs=largest,
        parallel=executor.workers)
    threads = f"{executor.job_threads} thread(s)" if executor.job_threads else "all threads"
    basis = (f"epoch costs measured on {pick_device()}, {threads} a training, "
             f"{executor.workers} at a time")
    shapes = [(size, picks)]
    if config.shortlist is None:  # the smaller shortlists, when this one's draws cost too much
        shapes += [(n, min(picks, k)) for n, k in SMALLER_SHORTLISTS if n < size]
    refused: NoPlanFits | None = None
    for size, picks in shapes:
        for _ in range(REFITS + 1):
            try:
                plan = _choose_shape(costs, config, size, picks, basis)
            except NoPlanFits as e:
                refused = refused or e
                break
            s = plan.settings
            cap_s = costs.epoch_cost.seconds(plan.max_macs or 0, halving_images) \
                if plan.max_macs is not None else math.inf
            records, ranked_costs = _draw_ranked(
                scored, metric.name, s.shortlist - s.capacity_picks, plan.max_macs, cap_s,
                measure, halving_images)
            ranked = [r.architecture for r in records]
            chosen = [a for a, _ in capacity_picks(space, device, budget, s.capacity_picks,
                                                   config.seed, max_macs=plan.max_macs)]
            chosen_costs = [measure(a, final_images) for a in chosen]
            plan = replace(with_measured(plan, costs, ranked_costs, chosen_costs),
                           ranked=tuple(r.id for r in records))
            if plan.predicted_s <= costs.remaining_s:
                return plan
            # the shortlist costs more than the line through the probes said: refit with it
            measured += [(a, c / halving_images) for a, c in zip(ranked, ranked_costs)]
            measured += [(a, c / final_images) for a, c in zip(chosen, chosen_costs)]
            costs = replace(costs, epoch_cost=_fit(measured),
                            remaining_s=deadline - time.monotonic())
    if refused is not None:  # not even the shortest recipe: say what it needs
        raise refused
    left = max(0.0, deadline - time.monotonic())
    raise NoPlanFits(f"no shortlist this machine can train fits the time budget "
                     f"({left / 60:.0f} min left after exploring and measuring); raise "
                     "--time-budget, or train on fewer images with --train-subset")


def _draw_ranked(scored: list[CandidateRecord], metric_name: str, count: int,
                 max_macs: int | None, cap_epoch_s: float, measure: _Meter,
                 images: int) -> tuple[list[CandidateRecord], list[float]]:
    """The ranker's `count` picks under the cap, each measured: a pick that costs more than
    DEAR_FACTOR times a network at the cap (MACs miss what memory-bound layers cost) is passed
    over for the next, at most DEAR_FACTOR * count times."""
    picks: list[CandidateRecord] = []
    costs: list[float] = []
    passed: list[int] = []
    pool = under_cap(scored, max_macs)
    while len(picks) < count and len(passed) <= DEAR_FACTOR * count:
        batch = diverse_shortlist(pool, metric_name, count - len(picks),
                                  exclude=[r.id for r in picks] + passed)
        if not batch:
            break
        for record in batch:
            cost = measure(record.architecture, images)
            if cost > DEAR_FACTOR * cap_epoch_s:
                passed.append(record.id)
            else:
                picks.append(record)
                costs.append(cost)
    return picks, costs


def under_cap(scored: list[CandidateRecord], max_macs: int | None) -> list[CandidateRecord]:
    """The candidates a plan's shortlist may hold: at most `max_macs` MACs (None: all)."""
    if max_macs is None:
        return scored
    return [r for r in scored if r.estimates.get("macs", 0) <= max_macs]


def _choose_shape(costs: Costs, config: SearchConfig, size: int, picks: int,
                  basis: str) -> RunPlan:
    """`choose` for the planned shortlist, or, when not even its shortest recipe fits and the
    user left the shortlist open, for the smaller shapes of SMALLER_SHORTLISTS."""
    shapes = [(size, picks)]
    if config.shortlist is None:
        shapes += [(n, min(picks, k)) for n, k in SMALLER_SHORTLISTS if n < size]
    for i, (n, k) in enumerate(shapes):
        ranked = replace(costs, metric_picks_epoch_s=costs.metric_picks_epoch_s[:n - k])
        try:
            return choose(ranked, config.fixed_settings(), n, k, config.time_budget_s or 0.0,
                          basis)
        except NoPlanFits:
            if i == len(shapes) - 1:
                raise
    raise AssertionError("unreachable: the last shape raises")


def _fit(measured: list[tuple[Architecture, float]]) -> EpochCost:
    """The epoch-cost line through (architecture, measured seconds per image) pairs."""
    if not measured:
        return EpochCost(0.0, 0.0)
    return EpochCost.fit([estimate(a).macs for a, _ in measured], [s for _, s in measured])


def _probes(pool: list[tuple[Architecture, int]]) -> list[Architecture]:
    """Up to PROBES networks of (architecture, MACs) pairs, spread over their MACs."""
    if not pool:
        return []
    by_macs = sorted(pool, key=lambda p: (p[1], p[0].content_hash))
    picks = {round(i * (len(by_macs) - 1) / max(1, PROBES - 1)) for i in range(PROBES)}
    return [by_macs[i][0] for i in sorted(picks)]


class _Meter:
    """Measured epoch seconds, each architecture measured once."""

    def __init__(self, x: np.ndarray, recipe: TrainConfig, threads: int) -> None:
        self.x, self.recipe, self.threads = x, recipe, threads
        self.seen: dict[tuple[str, int], float] = {}

    def __call__(self, arch: Architecture, images: int) -> float:
        from tinynas.train import measure_epoch_seconds

        key = (arch.content_hash, images)
        if key not in self.seen:
            self.seen[key] = measure_epoch_seconds(arch, self.x, images, self.recipe,
                                                   threads=self.threads)  # fmt: skip
        return self.seen[key]


def _shortlist(store: RunStore, config: SearchConfig, space: SearchSpace, device: Device,
               budget: Budget, metric: BaseMetric, scored: list[CandidateRecord],
               batch: tuple[np.ndarray, np.ndarray], plan: RunPlan) -> list[CandidateRecord]:
    """The ranker's picks among the candidates under the plan's MACs cap, then the capacity
    picks (`tinynas.search.capacity_picks`, under the same cap) as stored candidates scored
    by the run's metric. The picks are
    seeded, so a resumed run finds the ones it stored before."""
    s = plan.settings
    picks = []
    for arch, est in capacity_picks(space, device, budget, s.capacity_picks, config.seed,
                                    max_macs=plan.max_macs):
        record = store.find(arch.content_hash)
        if record is None:
            score = float(metric.score(arch, resize_batch(batch, arch), config.seed))
            record = store.add_candidate(arch, CandidateStatus.SCORED, est.to_dict(),
                                         {metric.name: score})
        picks.append(record)
    store.set_meta("capacity_picks", [r.id for r in picks])
    if plan.ranked is not None:  # drawn and measured when the plan was made
        return [store.candidate(i) for i in plan.ranked] + picks
    return diverse_shortlist(under_cap(scored, plan.max_macs), metric.name,
                             s.shortlist - len(picks), exclude=[r.id for r in picks]) + picks
