"""`run_search`: one search from a board and a dataset to a verified int8 model.

Stages: explore (estimators reject, a metric scores), Pareto front, shortlist, successive
halving, full training of the winner, int8 conversion and export, report. Each stage commits
its results to the run store, so `resume=True` continues a killed run where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinynas.data import Dataset, SplitData, holdout_split
from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget
from tinynas.executor import Executor, make_executor
from tinynas.metrics import BaseMetric
from tinynas.pipeline._config import RESUME_FIXED, SearchConfig
from tinynas.pipeline._costs import plan_run
from tinynas.pipeline._explore import ExploreLimits, explore, replay
from tinynas.pipeline._finish import finish
from tinynas.pipeline._halving import successive_halving
from tinynas.pipeline._metric import make_metric, resolve_metric
from tinynas.pipeline._plan import (
    PLANNED_CANDIDATES,
    RunPlan,
    explore_seconds,
    finish_seconds,
    fit_final_epochs,
    most_epochs,
)
from tinynas.pipeline._report import write_report
from tinynas.pipeline._summary import SearchSummary, nothing_fits, summarize
from tinynas.search import SearchSpace, pareto_front
from tinynas.space import Architecture
from tinynas.store import CandidateRecord, CandidateStatus, RunLayout, RunStore, open_run
from tinynas.train import distilled_recipes, recipe_for
from tinynas.units import format_duration

METRIC_BATCH = 64  # images in the batch trainingless metrics score on
DEFAULT_CANDIDATES = 1000  # explored when neither a count nor a time budget is given
FINAL_EPOCHS = "final_epochs"  # run metadata: the winner's epochs, fitted to the time left
MIN_TRAIN_SAMPLES = 20  # two validation images at the least, and a batch to score on

Progress = Callable[[str, int, int | None], None]  # stage, done, total
OnPlan = Callable[[list[str]], None]  # the plan, as printed lines


def run_search(config: SearchConfig, resume: bool = False, progress: Progress | None = None,
               devices_dir: str | Path | None = None,
               on_plan: OnPlan | None = None) -> SearchSummary:
    """Runs (or resumes) a search; returns the summary of its chosen model. With a time
    budget, `on_plan` gets the plan's lines before the first training (RunPlan.lines)."""
    from tinynas.data import load_dataset
    from tinynas.devices import get_device

    started = time.monotonic()
    device = get_device(config.device, devices_dir)
    budget = Budget.for_device(device, config.max_flash_bytes, config.max_ram_bytes,
                               config.max_latency_ms, config.max_unas_peak_bytes,
                               config.max_unas_size_bytes)
    ds = load_dataset(config.dataset, config.data_dir)
    if len(ds.x_train) < MIN_TRAIN_SAMPLES:
        raise TinyNASError(f"dataset {ds.name} has {len(ds.x_train)} training samples; a search "
                           f"needs at least {MIN_TRAIN_SAMPLES} (a tenth is held out to "
                           "validate the shortlist)")
    base = _base(config, ds.input_shape)
    metric_name = resolve_metric(config.metric, ds.name)
    metric = make_metric(metric_name, device, budget, ds.name)
    executor = make_executor(config.workers, config.ray, config.gpus_per_job)  # before the store
    try:
        return _search(config, resume, progress, started, device, budget, ds, metric_name,
                       metric, executor, on_plan, base)
    finally:
        executor.close()


def _search(config: SearchConfig, resume: bool, progress: Progress | None, started: float,
            device: Device, budget: Budget, ds: Dataset, metric_name: str, metric: BaseMetric,
            executor: Executor, on_plan: OnPlan | None,
            base: Architecture | None) -> SearchSummary:  # fmt: skip
    from tinynas.search import get_strategy
    from tinynas.train import pick_device

    store = open_run(config.out, config.to_dict(), resume, RESUME_FIXED)
    scored_with = store.get_meta("metric")
    if scored_with is not None and scored_with != metric_name:  # --metric auto moved on
        store.close()
        raise TinyNASError(f"{config.out} was scored with metric {scored_with}, not "
                           f"{metric_name}; resume with --metric {scored_with}")
    layout = RunLayout(config.out)
    try:
        store.set_meta("status", "running")
        store.set_meta("metric", metric_name)
        space = SearchSpace(ds.input_shape, ds.num_classes, config.space)
        strategy = get_strategy(config.strategy, space, config.seed + store.count(), device,
                                budget, base)
        replay(store, strategy, metric_name)
        pick = np.random.default_rng(config.seed).choice(
            len(ds.x_train), min(METRIC_BATCH, len(ds.x_train)), False)
        batch = (ds.x_train[pick], ds.y_train[pick])
        deadline = None if config.time_budget_s is None else started + config.time_budget_s
        limits = explore_limits(config)
        stage_s: dict[str, float] = {}
        clock = time.monotonic()
        explore(store, strategy, metric, batch, device, budget, limits, config.seed,
                on_result=lambda n: progress and progress("explore", n, limits.candidates))
        stage_s["explore"] = time.monotonic() - clock
        found = strategy.report()
        if found is not None:
            store.set_meta("strategy", found)
        scored = store.candidates(CandidateStatus.SCORED) + store.candidates(
            CandidateStatus.TRAINED) + store.candidates(CandidateStatus.TRAINING)
        scored = [r for r in scored if metric_name in r.scores]
        if not scored:
            raise _NothingFits(nothing_fits(store, budget))
        data = holdout_split(ds, config.seed, config.train_subset)
        whole = SplitData(ds.x_train, ds.y_train, data.x_val[:0], data.y_val[:0], ds.num_classes)
        if config.train_subset is not None:  # a quick run trains the winner on its subset too
            whole = SplitData(np.concatenate([data.x_train, data.x_val]),
                              np.concatenate([data.y_train, data.y_val]),
                              data.x_val[:0], data.y_val[:0], ds.num_classes)
        clock = time.monotonic()
        planned = plan_run(store, config, space, device, budget, metric, scored, batch,
                           data.x_train, len(data.x_train), len(whole.x_train), len(ds.x_test),
                           recipe_for(ds.name, config.epochs or 1.0), executor, deadline)
        stage_s["plan"] = time.monotonic() - clock
        plan, settings = planned.plan, planned.plan.settings
        if on_plan is not None:
            on_plan(plan.lines(len(data.x_train), len(whole.x_train)) + _eta(plan))
        members = scored + [r for r in planned.shortlist if r not in scored]
        points = [(-r.scores[metric_name], r.estimates.get("latency_ms") or 0.0,
                   r.estimates["arena_bytes"], r.estimates["flash_bytes"]) for r in members]
        store.mark_front([members[i].id for i in pareto_front(points)])
        train_config = recipe_for(ds.name, settings.epochs)
        counter = iter(range(1, 10**9))
        clock = time.monotonic()
        winner = successive_halving(
            store, planned.shortlist, data, train_config, settings.halving_epochs, config.seed,
            on_trained=lambda *a: progress and progress("train", next(counter), None),
            executor=executor)
        stage_s["halving"] = time.monotonic() - clock
        if progress:
            progress("final", 0, 1)
        epochs = final_epochs(store, plan, winner, len(data.x_train), len(whole.x_train),
                              len(ds.x_test), deadline, fixed_epochs=config.epochs is not None)
        final_config, teacher_config = recipe_for(ds.name, epochs), None
        if settings.distill:
            final_config, teacher_config = distilled_recipes(final_config)
        clock = time.monotonic()
        done = finish(store, winner, whole, ds.x_test, ds.y_test, final_config, ds.name,
                      config.seed, layout, budget, device, teacher=teacher_config,
                      executor=executor)
        stage_s["final"] = time.monotonic() - clock
        if progress:
            progress("final", 1, 1)
        summary = summarize(config, store, device.name, budget, metric_name, done,
                            time.monotonic() - started, pick_device(), executor.describe(),
                            plan=plan.to_dict() | {"final_epochs": epochs}, stage_s=stage_s)
        write_report(store, summary, layout)
        store.finish("finished")
        return summary
    except _NothingFits as e:
        if resume:  # an earlier run's candidates stay, with the run marked failed
            store.finish("failed")
            raise TinyNASError(str(e)) from None
        store.discard()  # a new run that kept nothing leaves no folder to clear by hand
        raise TinyNASError(f"{e}; nothing was kept in {config.out}") from None
    except TinyNASError:
        store.finish("failed")
        raise
    finally:
        store.close()


class _NothingFits(TinyNASError):
    """No explored candidate fits the budget (the message says what would)."""


def _base(config: SearchConfig, input_shape: tuple[int, ...]) -> Architecture | None:
    """The --base architecture, checked against the data before anything is written."""
    from tinynas.space import problems, read_architecture

    if config.base is None:
        return None
    if config.strategy != "compound":
        raise TinyNASError(f"--base is for --strategy compound, not {config.strategy}")
    arch = read_architecture(config.base)
    wrong = problems(arch, input_shape)
    if wrong:
        raise TinyNASError(f"--base {config.base}: {wrong[0]}")
    return arch


def _eta(plan: RunPlan) -> list[str]:
    """The plan's predicted end as a line (none without a prediction)."""
    if not plan.stage_s:
        return []
    rest = plan.predicted_s
    end = time.strftime("%H:%M", time.localtime(time.time() + rest))
    return [f"  ETA       {end} ({format_duration(rest)} from now, predicted)"]


def explore_limits(config: SearchConfig) -> ExploreLimits:
    """The user's --candidates; else, with a time budget, PLANNED_CANDIDATES within the
    exploration's share of it; else DEFAULT_CANDIDATES."""
    if config.candidates is not None:
        return ExploreLimits(config.candidates)
    if config.time_budget_s is not None:
        return ExploreLimits(PLANNED_CANDIDATES, explore_seconds(config.time_budget_s))
    return ExploreLimits(DEFAULT_CANDIDATES)


def final_epochs(store: RunStore, plan: RunPlan, winner: CandidateRecord, halving_images: int,
                 final_images: int, test_images: int, deadline: float | None,
                 fixed_epochs: bool = False) -> float:
    """The winner's epochs: the plan's, or, with a `deadline`, fitted to the time left at the
    winner's measured cost (its cheapest halving rung's seconds per image): fewer when the plan's
    do not fit, more up to the recipe's most useful (`most_epochs`) when time is left over and
    the user did not fix the epochs. Decided once and kept in the run's metadata, so a
    resumed run trains the same."""
    kept = store.get_meta(FINAL_EPOCHS)
    if kept is not None:
        return float(kept)
    epochs = plan.settings.epochs
    rungs = [t for t in store.trainings(winner.id) if t.stage.startswith("halving-")]
    if deadline is not None and rungs:
        # the cheapest rung per image: a rung slowed by other work on the machine would
        # otherwise cut the winner's epochs for good
        per_image_s = min(t.train_seconds / (t.epochs * halving_images) for t in rungs)
        left_s = (deadline - time.monotonic() - finish_seconds(test_images)
                  - plan.stage_s.get("teacher", 0.0))
        more = None if fixed_epochs else most_epochs(plan.settings.distill)
        epochs = fit_final_epochs(epochs, per_image_s * final_images, left_s, more)
    store.set_meta(FINAL_EPOCHS, epochs)
    return epochs
