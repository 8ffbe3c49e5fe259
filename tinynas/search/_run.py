"""`run_search`: one search from a board and a dataset to a verified int8 model.

Stages: explore (estimators reject, a metric scores), Pareto front, shortlist, successive
halving, full training of the winner, int8 conversion and export, report. Each stage commits
its results to the run store, so `resume=True` continues a killed run where it stopped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynas.errors import TinyNASError
from tinynas.search._base import SearchSpace
from tinynas.search._constraints import Budget
from tinynas.search._explore import ExploreLimits, explore, replay, resize_batch
from tinynas.search._halving import SplitData, successive_halving
from tinynas.search._pareto import pareto_front
from tinynas.search._shortlist import diverse_shortlist
from tinynas.space import SpaceConfig
from tinynas.store import CandidateRecord, CandidateStatus, RunStore

if TYPE_CHECKING:
    from tinynas.train import TrainConfig

METRIC_BATCH = 64  # images in the batch trainingless metrics score on
# without a validation of the dataset: the registry metric whose top picks trained best in the
# Fashion-MNIST proxy validation (docs/benchmarks.md)
DEFAULT_METRIC = "params"
LONG_TRAINING_EPOCHS = 30  # from here on the recipe regularises (recipe_for)
DISTILL_WEIGHT = 0.9  # Hinton et al.; beat 0.5 on Fashion-MNIST (docs/benchmarks.md)
# A teacher epoch costs several student epochs on a CPU (train/_distill.py: ~7x the MACs of a
# 64 KB network), and 30 epochs take the Fashion-MNIST teacher to 93.9% (docs/benchmarks.md).
TEACHER_MAX_EPOCHS = 30.0


@dataclass(frozen=True)
class SearchConfig:
    device: str
    out: Path
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    strategy: str = "evolution"
    metric: str = "auto"
    candidates: int | None = None
    time_budget_s: float | None = None
    max_flash_bytes: int | None = None
    max_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    max_unas_peak_bytes: int | None = None
    max_unas_size_bytes: int | None = None  # μNAS's model size: one byte per parameter
    shortlist: int = 8
    capacity_picks: int = 0  # shortlist slots for regular networks of most capacity (_capacity.py)
    halving_epochs: float = 1.0  # epochs of the first rung
    epochs: float = 10.0  # full training of the winner
    train_subset: int | None = None  # at most this many training images (quick runs)
    distill: bool = False  # train a teacher and distill it into the winner (train/_distill.py)
    seed: int = 0
    space: SpaceConfig = field(default_factory=SpaceConfig)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def parse_duration(text: str) -> float:
    """'90' or '90s', '10m', '1.5h' -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise TinyNASError(f"time budget {text!r} is not a duration; use e.g. 90s, 10m or 2h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _open_store(config: SearchConfig, resume: bool) -> RunStore:
    db = config.out / "run.db"
    if resume:
        if not db.exists():
            raise TinyNASError(f"nothing to resume in {config.out}: no run.db; drop --resume")
        store = RunStore.open(config.out)
        if store.get_meta("status") == "finished":
            store.close()
            raise TinyNASError(f"{config.out} is a finished run; see tinynas runs show "
                               f"{config.out}, or start a new run with another --out")
        stored = store.config()
        for key in ("device", "dataset", "strategy", "seed", "distill"):
            if key in stored and stored[key] != getattr(config, key):
                store.close()
                raise TinyNASError(f"{config.out} was searched with {key}={stored[key]!r}, not "
                                   f"{getattr(config, key)!r}; resume with the same settings")
        return store
    if db.exists():
        raise TinyNASError(f"{config.out} already holds a run; pass --resume to continue it or "
                           "choose another --out")
    return RunStore.create(config.out, config.to_dict())


def _split(ds: Any, config: SearchConfig) -> SplitData:
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(ds.x_train))
    n_val = max(1, len(order) // 10)
    val, train = order[:n_val], order[n_val:]
    if config.train_subset is not None:
        train = train[: config.train_subset]
        val = val[: max(1, config.train_subset // 5)]
    return SplitData(ds.x_train[train], ds.y_train[train], ds.x_train[val], ds.y_train[val],
                     ds.num_classes)


def recipe_for(dataset: str, epochs: float) -> TrainConfig:
    """The training recipe of a search on `dataset`: Fashion-MNIST's classes survive a mirror
    image, so its training draws flips. Random shifts (`TrainConfig.shift_px`) are not drawn:
    2-pixel shifts cost 3 points after 4 epochs on 6,000 images and changed nothing after 15
    epochs on 60,000 (docs/benchmarks.md, the μNAS reference point). A long training
    (LONG_TRAINING_EPOCHS or more) is regularised: random erasing with p = 0.5 (Zhong et al.,
    AAAI 2020, whose Fashion-MNIST error fell from 6.21% to 5.04% with it on ResNet-20) and
    label smoothing 0.1 (Szegedy et al. 2016); a short one would only learn slower. The
    halving rungs of a run use its recipe, so they compare candidates under the regularisation
    the winner will be trained with."""
    from tinynas.train import TrainConfig

    long = epochs >= LONG_TRAINING_EPOCHS
    return TrainConfig(epochs=epochs, flip=dataset == "fashion-mnist",
                       erase_p=0.5 if long else 0.0, label_smoothing=0.1 if long else 0.0)


def distilled_recipes(recipe: TrainConfig) -> tuple[TrainConfig, TrainConfig]:
    """(the winner's recipe, the teacher's) for a distilled final training from the run's
    `recipe`. The winner's loss takes DISTILL_WEIGHT from the teacher's soft targets, which
    replace label smoothing; the teacher trains without label smoothing, which erases the
    information in its wrong-class logits that distillation transfers (Müller et al., NeurIPS
    2019), and for at most TEACHER_MAX_EPOCHS."""
    winner = replace(recipe, label_smoothing=0.0, distill_weight=DISTILL_WEIGHT)
    teacher = replace(recipe, label_smoothing=0.0, epochs=min(recipe.epochs, TEACHER_MAX_EPOCHS))
    return winner, teacher


def resolve_metric(name: str, dataset: str) -> str:
    """'auto' -> the best ranker validated on this dataset (`tinynas proxies validate`): a
    metric of the registry, or the learned ranker fitted on that validation's trained
    architectures; without a kept validation, the default metric."""
    if name != "auto":
        return name
    from tinynas.proxies import best_validated_metric, best_validated_ranker

    best = best_validated_metric(dataset) or best_validated_ranker(dataset)
    if best is None or best == "ensemble":  # the ensemble ranks only against a population
        return DEFAULT_METRIC
    return best


def _metric(name: str, device: Any, budget: Budget, dataset: str) -> Any:
    from tinynas.metrics import get_metric

    if name == "relu_count_penalized":
        return get_metric(name, device=device, budget=budget)
    if name == "learned":
        from tinynas.proxies import validated_architectures

        archs, accuracies = validated_architectures(dataset)
        if len(archs) < 10:
            raise TinyNASError(f"the learned ranker needs a kept validation of {dataset}; run "
                               "tinynas proxies validate first, or choose another --metric")
        return get_metric("learned").fit(archs, accuracies)
    return get_metric(name)


Progress = Callable[[str, int, int | None], None]  # stage, done, total


def run_search(config: SearchConfig, resume: bool = False, progress: Progress | None = None,
               devices_dir: str | None = None) -> dict[str, Any]:
    """Runs (or resumes) a search; returns the summary of its chosen model."""
    from tinynas.data import load_dataset
    from tinynas.devices import get_device
    from tinynas.search import get_strategy
    from tinynas.train import pick_device

    started = time.monotonic()
    device = get_device(config.device, devices_dir)
    budget = Budget.for_device(device, config.max_flash_bytes, config.max_ram_bytes,
                               config.max_latency_ms, config.max_unas_peak_bytes,
                               config.max_unas_size_bytes)
    ds = load_dataset(config.dataset, config.data_dir)
    metric_name = resolve_metric(config.metric, ds.name)
    metric = _metric(metric_name, device, budget, ds.name)
    store = _open_store(config, resume)
    try:
        store.set_meta("status", "running")
        store.set_meta("metric", metric_name)
        space = SearchSpace(ds.input_shape, ds.num_classes, config.space)
        strategy = get_strategy(config.strategy, space, config.seed + store.count())
        replay(store, strategy, metric_name)
        pick = np.random.default_rng(config.seed).choice(len(ds.x_train), METRIC_BATCH, False)
        batch = (ds.x_train[pick], ds.y_train[pick])
        limits = ExploreLimits(config.candidates, config.time_budget_s)
        if limits.candidates is None and limits.time_budget_s is None:
            limits = ExploreLimits(candidates=1000)
        explore(store, strategy, metric, batch, device, budget, limits, config.seed,
                on_result=lambda n: progress and progress("explore", n, limits.candidates))
        picks = _capacity_records(store, space, device, budget, metric, batch, config)
        scored = store.candidates(CandidateStatus.SCORED) + store.candidates(
            CandidateStatus.TRAINED) + store.candidates(CandidateStatus.TRAINING)
        scored = [r for r in scored if metric_name in r.scores]
        if not scored:
            raise TinyNASError(_nothing_fits(store, budget))
        points = [(-r.scores[metric_name], r.estimates.get("latency_ms") or 0.0,
                   r.estimates["arena_bytes"], r.estimates["flash_bytes"]) for r in scored]
        store.mark_front([scored[i].id for i in pareto_front(points)])
        shortlist = diverse_shortlist(scored, metric_name, config.shortlist - len(picks),
                                      exclude=[r.id for r in picks]) + picks
        data = _split(ds, config)
        train_config = recipe_for(ds.name, config.epochs)
        counter = iter(range(1, 10**9))
        winner = successive_halving(
            store, shortlist, data, train_config, config.halving_epochs, config.seed,
            on_trained=lambda *a: progress and progress("train", next(counter), None))
        if progress:
            progress("final", 0, 1)
        from tinynas.search._finish import finish

        whole = SplitData(ds.x_train, ds.y_train, data.x_val[:0], data.y_val[:0], ds.num_classes)
        if config.train_subset is not None:  # a quick run trains the winner on its subset too
            whole = SplitData(np.concatenate([data.x_train, data.x_val]),
                              np.concatenate([data.y_train, data.y_val]),
                              data.x_val[:0], data.y_val[:0], ds.num_classes)
        final_config, teacher_config = train_config, None
        if config.distill:
            final_config, teacher_config = distilled_recipes(train_config)
        done = finish(store, winner, whole, ds.x_test, ds.y_test, final_config, ds.name,
                      config.seed, config.out, teacher=teacher_config)
        if progress:
            progress("final", 1, 1)
        summary = _summary(config, store, device, budget, metric_name, done,
                           time.monotonic() - started, pick_device())
        from tinynas.search._report import write_report

        write_report(store, summary, config.out)
        store.finish("finished")
        return summary
    except TinyNASError:
        store.finish("failed")
        raise
    finally:
        store.close()


def _capacity_records(store: RunStore, space: SearchSpace, device: Any, budget: Budget,
                      metric: Any, batch: tuple[np.ndarray, np.ndarray],
                      config: SearchConfig) -> list[CandidateRecord]:
    """The capacity picks (`_capacity.py`) as stored candidates, scored by the run's metric;
    the picks are seeded, so a resumed run finds the ones it stored before."""
    from tinynas.search._capacity import capacity_picks

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


def _nothing_fits(store: RunStore, budget: Budget) -> str:
    rejected = store.candidates(CandidateStatus.REJECTED)
    if not rejected:
        return "no candidate was scored; raise --candidates or --time-budget"
    smallest = min(rejected, key=lambda r: (r.estimates["arena_bytes"], r.estimates["flash_bytes"]))
    e = smallest.estimates
    unas = f"μNAS peak {e['unas_peak_bytes']:,} B"
    if budget.unas_size_bytes is not None:
        unas += f", μNAS size {e['params']:,} B"
    return (f"no architecture of {len(rejected)} tried fits the budget ({_budget_text(budget)}); "
            f"the smallest needs {e['flash_bytes']:,} B flash and {e['arena_bytes']:,} B RAM "
            f"({unas}): relax --max-flash/--max-ram or choose a larger board")


def _budget_text(budget: Budget) -> str:
    parts = []
    if budget.flash_bytes is not None:
        parts.append(f"flash <= {budget.flash_bytes:,} B")
    if budget.ram_bytes is not None:
        parts.append(f"RAM <= {budget.ram_bytes:,} B")
    if budget.latency_ms is not None:
        parts.append(f"latency <= {budget.latency_ms} ms")
    if budget.unas_peak_bytes is not None:
        parts.append(f"μNAS peak <= {budget.unas_peak_bytes:,} B")
    if budget.unas_size_bytes is not None:
        parts.append(f"μNAS size <= {budget.unas_size_bytes:,} B")
    return ", ".join(parts)


def _teacher_summary(store: RunStore) -> dict[str, Any] | None:
    """The distillation teacher of the run (its size, training and test accuracy), if any."""
    from tinynas.estimators import estimate
    from tinynas.space import Architecture

    kept = store.get_meta("teacher")
    if kept is None:
        return None
    est = estimate(Architecture.from_dict(kept["architecture"]))
    return {"params": est.params, "macs": est.macs, "epochs": kept["epochs"],
            "train_seconds": kept["train_seconds"], "test_accuracy": kept["test_accuracy"]}


def _summary(config: SearchConfig, store: RunStore, device: Any, budget: Budget, metric: str,
             done: Any, seconds: float, train_device: str) -> dict[str, Any]:
    est = done.candidate.estimates
    return {
        "run": config.out.name, "out": str(config.out), "device": device.name,
        "budget_text": _budget_text(budget), "dataset": config.dataset,
        "strategy": config.strategy, "metric": metric, "seed": config.seed,
        "evaluated": store.count(), "rejected": store.count(CandidateStatus.REJECTED),
        "scored": store.count() - store.count(CandidateStatus.REJECTED),
        "trained": len({t.candidate_id for t in store.trainings()}),
        "seconds": seconds, "train_device": train_device,
        "candidate_id": done.candidate.id, "hash": done.candidate.hash,
        "architecture": done.candidate.architecture.to_dict(),
        "float_accuracy": done.float_accuracy, "int8_accuracy": done.int8_accuracy,
        "flash_bytes": done.flash_bytes, "flash_estimated_bytes": est["flash_bytes"],
        "arena_bytes": done.arena_bytes, "arena_estimated_bytes": est["arena_bytes"],
        "unas_peak_bytes": est["unas_peak_bytes"], "latency_ms": est.get("latency_ms") or 0.0,
        "teacher": _teacher_summary(store),
        "provenance": {"float_accuracy": "measured", "int8_accuracy": "measured (TFLM)",
                       "flash_bytes": "measured (file)", "arena_bytes": "measured (TFLM)",
                       "*_estimated_bytes": "estimated", "latency_ms": "predicted"},
    }
