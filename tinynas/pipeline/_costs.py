"""Making a run's plan: measure what its trainings cost on this machine, choose the settings
(`_plan.choose`) and the capacity picks they allow, and keep the plan in the run store.

The epoch-cost line is fitted through a few probes of the capacity pool near 1, 3 and 10 M MACs
(of the scored candidates when there is no pool) and the teacher; the plan prices every member
of the shortlist at its MACs cap. The shortlist the cap allows is then drawn and measured (a
pick far dearer than the cap's price, which MACs alone can miss, is passed over for the next;
the picks are kept in the plan), and the plan takes the longest recipe that the shortlist's
measured costs fit. A shortlist of 8 that fits no recipe
is tried at the sizes of SMALLER_SHORTLISTS (when the user left the shortlist open). A resumed
run keeps the plan it stored: its shortlist was trained under it.
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
)
from tinynas.search import SearchSpace, capacity_picks, capacity_pool, diverse_shortlist
from tinynas.space import Architecture
from tinynas.store import CandidateRecord, CandidateStatus, RunStore
from tinynas.train import TrainConfig

PROBE_MACS = (1_000_000, 3_000_000, 10_000_000)  # the MACs of the networks that price the rest
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
    # the line is fitted through networks of one family, the regular ones of the capacity
    # pool: the explored candidates' layers (depthwise, pooling, wide dense) cost per MAC
    # anything from a fraction to many times as much, so they price nothing but themselves
    probes = _probes([(a, e.macs) for a, e in pool]) or _probes(candidates)
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
        try:
            priced = _choose_shape(costs, config, size, picks, basis)  # every member at the cap
        except NoPlanFits as e:
            refused = refused or e
            continue
        s, cap = priced.settings, priced.max_macs
        # a pick is passed over for its cost only where the cap binds: under a budget that
        # allows every network, the ranker's order stands
        binding = cap is not None and cap < costs.pool_max_macs
        ranked, ranked_costs = _draw_ranked(
            scored, metric.name, s.shortlist - s.capacity_picks, cap,
            _price(costs, cap, halving_images) if binding else math.inf, measure,
            halving_images)
        chosen, chosen_costs = _draw_capacity(
            space, device, budget, config.seed, s.capacity_picks, cap,
            _price(costs, cap, final_images) if binding else math.inf, measure, final_images)
        if not ranked and not chosen:  # nothing under the cap could be trained in time
            continue
        ratio = halving_images / max(1, final_images)
        measured_costs = replace(costs, metric_picks_epoch_s=tuple(
            ranked_costs + [c * ratio for c in chosen_costs]),
            remaining_s=deadline - time.monotonic())
        try:  # the longest recipe the drawn shortlist's measured costs fit
            plan = choose(measured_costs, config.fixed_settings(), s.shortlist, 0,
                          config.time_budget_s or 0.0, basis)
        except NoPlanFits as e:
            refused = refused or e
            continue
        return replace(plan, settings=replace(plan.settings, shortlist=len(ranked) + len(chosen),
                                              capacity_picks=len(chosen)),
                       max_macs=cap, ranked=tuple(r.id for r in ranked),
                       capacity=tuple(a.content_hash for a in chosen))
    raise refused or NoPlanFits(
        "no network under the plan's MACs cap trains fast enough on this machine for the time "
        "budget; raise --time-budget, or train on fewer images with --train-subset")


def _price(costs: Costs, max_macs: int | None, images: int) -> float:
    """What the line says one epoch of a network at the cap costs on `images` images."""
    return math.inf if max_macs is None else costs.epoch_cost.seconds(max_macs, images)


def _draw_capacity(space: SearchSpace, device: Device, budget: Budget, seed: int, count: int,
                   max_macs: int | None, cap_epoch_s: float, measure: _Meter,
                   images: int) -> tuple[list[Architecture], list[float]]:
    """The `count` capacity picks under the cap, each measured; one that costs more than
    DEAR_FACTOR times the cap's price is passed over for the next."""
    pool = capacity_picks(space, device, budget, (DEAR_FACTOR + 1) * count, seed,
                          max_macs=max_macs)
    chosen: list[Architecture] = []
    costs: list[float] = []
    for arch, _ in pool:
        if len(chosen) == count:
            break
        cost = measure(arch, images)
        if cost <= DEAR_FACTOR * cap_epoch_s:
            chosen.append(arch)
            costs.append(cost)
    return chosen, costs


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
    """Of (architecture, MACs) pairs, the nearest (in log MACs) to each of PROBE_MACS, where
    the caps of CPU and GPU budgets fall, so that the line is fitted where it is read rather
    than at the pool's extremes."""
    if not pool:
        return []
    by_macs = sorted(pool, key=lambda p: (p[1], p[0].content_hash))
    picks = {min(range(len(by_macs)),
                 key=lambda i: abs(math.log(max(by_macs[i][1], 1)) - math.log(target)))
             for target in PROBE_MACS}
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
    drawn = capacity_picks(space, device, budget, s.capacity_picks, config.seed,
                           max_macs=plan.max_macs)
    if plan.capacity is not None:  # drawn and measured when the plan was made
        pool = capacity_picks(space, device, budget, (DEAR_FACTOR + 1) * s.capacity_picks,
                              config.seed, max_macs=plan.max_macs)
        by_hash = {a.content_hash: (a, e) for a, e in pool}
        drawn = [by_hash[h] for h in plan.capacity]
    for arch, est in drawn:
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
