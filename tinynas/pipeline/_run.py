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
from tinynas.pipeline._explore import ExploreLimits, explore, replay, resize_batch
from tinynas.pipeline._finish import finish
from tinynas.pipeline._halving import successive_halving
from tinynas.pipeline._metric import make_metric, resolve_metric
from tinynas.pipeline._report import write_report
from tinynas.pipeline._summary import SearchSummary, nothing_fits, summarize
from tinynas.search import SearchSpace, capacity_picks, diverse_shortlist, pareto_front
from tinynas.store import CandidateRecord, CandidateStatus, RunLayout, RunStore, open_run
from tinynas.train import distilled_recipes, recipe_for

METRIC_BATCH = 64  # images in the batch trainingless metrics score on
DEFAULT_CANDIDATES = 1000  # explored when neither a count nor a time budget is given
MIN_TRAIN_SAMPLES = 20  # two validation images at the least, and a batch to score on

Progress = Callable[[str, int, int | None], None]  # stage, done, total


def run_search(config: SearchConfig, resume: bool = False, progress: Progress | None = None,
               devices_dir: str | Path | None = None) -> SearchSummary:
    """Runs (or resumes) a search; returns the summary of its chosen model."""
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
    metric_name = resolve_metric(config.metric, ds.name)
    metric = make_metric(metric_name, device, budget, ds.name)
    executor = make_executor(config.workers, config.ray, config.gpus_per_job)  # before the store
    try:
        return _search(config, resume, progress, started, device, budget, ds, metric_name,
                       metric, executor)
    finally:
        executor.close()


def _search(config: SearchConfig, resume: bool, progress: Progress | None, started: float,
            device: Device, budget: Budget, ds: Dataset, metric_name: str, metric: BaseMetric,
            executor: Executor) -> SearchSummary:  # fmt: skip
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
        strategy = get_strategy(config.strategy, space, config.seed + store.count())
        replay(store, strategy, metric_name)
        pick = np.random.default_rng(config.seed).choice(
            len(ds.x_train), min(METRIC_BATCH, len(ds.x_train)), False)
        batch = (ds.x_train[pick], ds.y_train[pick])
        limits = ExploreLimits(config.candidates, config.time_budget_s)
        if limits.candidates is None and limits.time_budget_s is None:
            limits = ExploreLimits(candidates=DEFAULT_CANDIDATES)
        explore(store, strategy, metric, batch, device, budget, limits, config.seed,
                on_result=lambda n: progress and progress("explore", n, limits.candidates))
        picks = _capacity_records(store, space, device, budget, metric, batch, config)
        scored = store.candidates(CandidateStatus.SCORED) + store.candidates(
            CandidateStatus.TRAINED) + store.candidates(CandidateStatus.TRAINING)
        scored = [r for r in scored if metric_name in r.scores]
        if not scored:
            raise _NothingFits(nothing_fits(store, budget))
        points = [(-r.scores[metric_name], r.estimates.get("latency_ms") or 0.0,
                   r.estimates["arena_bytes"], r.estimates["flash_bytes"]) for r in scored]
        store.mark_front([scored[i].id for i in pareto_front(points)])
        shortlist = diverse_shortlist(scored, metric_name, config.shortlist - len(picks),
                                      exclude=[r.id for r in picks]) + picks
        data = holdout_split(ds, config.seed, config.train_subset)
        train_config = recipe_for(ds.name, config.epochs)
        counter = iter(range(1, 10**9))
        winner = successive_halving(
            store, shortlist, data, train_config, config.halving_epochs, config.seed,
            on_trained=lambda *a: progress and progress("train", next(counter), None),
            executor=executor)
        if progress:
            progress("final", 0, 1)
        whole = SplitData(ds.x_train, ds.y_train, data.x_val[:0], data.y_val[:0], ds.num_classes)
        if config.train_subset is not None:  # a quick run trains the winner on its subset too
            whole = SplitData(np.concatenate([data.x_train, data.x_val]),
                              np.concatenate([data.y_train, data.y_val]),
                              data.x_val[:0], data.y_val[:0], ds.num_classes)
        final_config, teacher_config = train_config, None
        if config.distill:
            final_config, teacher_config = distilled_recipes(train_config)
        done = finish(store, winner, whole, ds.x_test, ds.y_test, final_config, ds.name,
                      config.seed, layout, budget, device, teacher=teacher_config,
                      executor=executor)
        if progress:
            progress("final", 1, 1)
        summary = summarize(config, store, device.name, budget, metric_name, done,
                            time.monotonic() - started, pick_device(), executor.describe())
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


def _capacity_records(store: RunStore, space: SearchSpace, device: Device, budget: Budget,
                      metric: BaseMetric, batch: tuple[np.ndarray, np.ndarray],
                      config: SearchConfig) -> list[CandidateRecord]:
    """The capacity picks (`tinynas.search.capacity_picks`) as stored candidates, scored by
    the run's metric; the picks are seeded, so a resumed run finds the ones it stored before."""
    records = []
    k = min(config.capacity_picks, config.shortlist)
    for arch, est in capacity_picks(space, device, budget, k, config.seed):
        record = store.find(arch.content_hash)
        if record is None:
            score = float(metric.score(arch, resize_batch(batch, arch), config.seed))
            record = store.add_candidate(arch, CandidateStatus.SCORED, est.to_dict(),
                                         {metric.name: score})
        records.append(record)
    store.set_meta("capacity_picks", [r.id for r in records])
    return records
