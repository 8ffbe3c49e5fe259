"""``validate_proxies``: how well does each trainingless metric rank networks on this data?

1. Sample ``samples`` architectures that fit the device (seeded; the estimators reject the
   rest before any tensor is built, exactly as a search does), or read the user's own from a
   JSON Lines file (``architectures``; they need not fit). The architectures of another file
   (``added_architectures``) follow them: a kept validation grows by them on resume, without
   training its own again (to cover a region of the space its sampler did not draw).
2. Score each with every metric on one seeded batch of training images, timing each score.
3. Train each with one fixed recipe (``tinynas.train``: ``epochs`` epochs over
   ``train_images`` seeded training images; accuracy measured on validation images held out
   from the training set, never on the test set). The first ``repeats`` architectures are
   trained a second time with another seed: the two runs give the noise ceiling. The
   trainings are independent jobs run by an executor (``tinynas.executor``: this process by
   default, local worker processes, or Ray); each trains from scratch on ``cpu_threads`` torch
   threads wherever it runs and is never retrained with another seed, so where the trainings
   run does not change what they measure.
4. Correlate (``tinynas.proxies._summary``) and write ``summary.json`` and ``scatter.png``.

This process, the driver, scores every architecture not yet kept, hands their trainings to the
executor, and appends an architecture's row the moment its trainings are back (in the order
they finish, so not always by index with several workers), so ``resume=True`` continues a
killed validation without scoring or training a kept architecture again. A training that fails
leaves its architecture without a row: the validation ends with an error once the others are
kept, and a resumed one trains it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynas.proxies._results import (
    CONFIG_NAME,
    CSV_NAME,
    PLOT_NAME,
    SUMMARY_NAME,
    ArchResult,
    ProxyValidationError,
    ResultsFile,
    check_config,
    default_out,
    write_json,
)
from tinynas.space import (
    Architecture,
    SpaceConfig,
    data_mismatch,
    read_architecture_lines,
    sample,
)

if TYPE_CHECKING:
    from tinynas.data import Dataset
    from tinynas.devices import Device
    from tinynas.estimators import Budget, Estimate
    from tinynas.executor import Executor, TrainJob, TrainOutcome
    from tinynas.metrics import BaseMetric

DEFAULT_DEVICE = "nucleo-l4r5zi"
MAX_TRIES_PER_SAMPLE = 200  # give up when nothing fits after this many tries per wanted one
VALIDATION_FRACTION = 0.1  # of the training set, held out to measure accuracy
DERIVED = ("learned", "ensemble")  # evaluated from the kept rows, never scored per row
_DEFAULT_SPACE = SpaceConfig()

# TRAIN_THREADS_NOTE: these networks are small, so torch's intra-op threads cost more in
# synchronisation than they save; on the shared 2-core host, one epoch of digits took 0.05-0.15 s
# per network on one thread and 0.3-7 s on two.

Progress = Callable[[int, int], None]  # architectures done (kept ones included), total


@dataclass(frozen=True)
class ValidationConfig:
    """The settings of one validation; every architecture is trained the same way."""

    dataset: str  # built-in name or path (tinynas.data.load_dataset)
    device: str = DEFAULT_DEVICE
    samples: int = 200  # architectures that fit the device
    # the search's final-training recipe (SearchConfig.epochs, TrainConfig): what a ranker must
    # predict is the accuracy the winner is trained to, not that of a short proxy training
    epochs: float = 10.0  # training epochs per architecture
    metrics: tuple[str, ...] = ()  # () = every registered metric that scores on its own
    train_images: int | None = None  # seeded subset of the training split; None = all
    val_images: int | None = None  # of the held-out validation split; None = all
    repeats: int = 30  # architectures trained twice (noise ceiling)
    warmup_epochs: float = 1.0  # linear warm-up of the learning rate (tinynas.train)
    cpu_threads: int = 1  # torch threads when training on the CPU (see TRAIN_THREADS_NOTE)
    metric_batch: int = 64  # images in the batch the metrics score on
    seed: int = 0
    max_flash_bytes: int | None = None
    max_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    data_dir: str | None = None
    space: SpaceConfig = field(default_factory=SpaceConfig)
    # a JSON Lines file of the architectures to validate, in place of `samples` seeded ones
    architectures: str | None = None
    # a JSON Lines file of architectures validated after those (indices from len(those) on)
    added_architectures: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics"] = list(self.metrics)
        d.pop("data_dir")  # where the files are, not what was validated
        d.pop("architectures")  # the file's content is kept instead (architectures_sha256)
        d.pop("added_architectures")  # likewise (added_architectures_sha256)
        return d


@dataclass(frozen=True)
class _Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    batch: tuple[np.ndarray, np.ndarray]  # the metrics' batch, from the training images


def default_metrics() -> tuple[str, ...]:
    """Every registered metric that scores one architecture on its own (not ``DERIVED``)."""
    from tinynas.metrics import METRICS

    return tuple(sorted(n for n, cls in METRICS.items()
                        if n not in DERIVED and cls.cost != "fitted"))


def _metric_names(requested: Sequence[str]) -> tuple[str, ...]:
    from tinynas.metrics import METRICS, MetricError

    names = tuple(dict.fromkeys(requested)) or default_metrics()
    for name in names:
        if name in DERIVED:
            raise ProxyValidationError(
                f"metric {name!r} is not scored per architecture: the validation reports the "
                f"learned ranker (5-fold) and the ensemble itself; leave {name!r} out of "
                "--metrics")
        if name not in METRICS:
            raise MetricError(f"unknown metric {name!r}; choose from "
                              f"{', '.join(default_metrics())} (tinynas proxies list)")
    return names


def _make_metric(name: str, device: Device, budget: Budget) -> BaseMetric:
    """A metric as a search would create it (the penalised count knows the budget)."""
    from tinynas.metrics import get_metric

    if name == "relu_count_penalized":
        return get_metric(name, device=device, budget=budget)
    return get_metric(name)


def validation_architectures(
    input_shape: tuple[int, ...], num_classes: int, device: Device, budget: Budget, count: int,
    seed: int, space: SpaceConfig = _DEFAULT_SPACE,
) -> list[tuple[Architecture, Estimate]]:
    """The first `count` distinct seeded samples that fit `budget`, with their estimates.

    The sequence depends only on the arguments, and a longer `count` extends a shorter one.

    Raises:
        ProxyValidationError: Too few fit after ``MAX_TRIES_PER_SAMPLE * count`` tries.
    """
    from tinynas.search import sample_fitting

    tries = MAX_TRIES_PER_SAMPLE * count
    found = sample_fitting(lambda rng: sample(input_shape, num_classes, rng, space),
                           random.Random(seed), device, budget, tries=tries, count=count)
    if len(found) == count:
        return found
    raise ProxyValidationError(
        f"only {len(found)} of {tries} sampled architectures fit {device.name} with flash <= "
        f"{budget.flash_bytes} B and RAM <= {budget.ram_bytes} B; ask for fewer --samples or "
        "relax --max-ram/--max-flash")


def split_sizes(n: int, config: ValidationConfig) -> tuple[int, int]:
    """(validation, training) image counts out of `n` training-set images."""
    held = max(1, round(VALIDATION_FRACTION * n))
    n_val = held if config.val_images is None else min(held, config.val_images)
    rest = n - held
    return n_val, rest if config.train_images is None else min(rest, config.train_images)


def split_data(ds: Dataset, config: ValidationConfig) -> _Split:
    """Seeded: validation images held out of the training set, a training subset, a batch."""
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(ds.y_train))
    n_val, n_train = split_sizes(len(order), config)
    held = max(1, round(VALIDATION_FRACTION * len(order)))
    val, train = order[:n_val], order[held:held + n_train]
    batch = rng.choice(train, min(config.metric_batch, len(train)), replace=False)
    return _Split(ds.x_train[train], ds.y_train[train], ds.x_train[val], ds.y_train[val],
                  (ds.x_train[batch], ds.y_train[batch]))


def score_all(metrics: dict[str, BaseMetric], arch: Architecture,
              batch: tuple[np.ndarray, np.ndarray], seed: int) -> tuple[dict[str, float],
                                                                         dict[str, float]]:
    """Every metric's score of `arch` and the milliseconds it took (NaN score on failure)."""
    from tinynas.metrics import MetricError

    scores, ms = {}, {}
    for name, metric in metrics.items():
        start = time.perf_counter()
        try:
            scores[name] = float(metric.score(arch, batch, seed))
        except MetricError:
            scores[name] = math.nan
        ms[name] = (time.perf_counter() - start) * 1000
    return scores, ms


def train_seeds(config: ValidationConfig, index: int) -> tuple[int, int]:
    """The training seeds of architecture `index`: its run, and its repeat (noise ceiling)."""
    base = config.seed * 1_000_003 + index
    return base, base + 500_009


@contextlib.contextmanager
def _cpu_threads(count: int) -> Iterator[None]:
    """Runs torch on `count` intra-op threads, restoring the caller's count on exit."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_jobs(config: ValidationConfig, archs: Sequence[tuple[Architecture, Estimate]],
                  todo: Sequence[int]) -> list[TrainJob]:
    """The trainings of the architectures `todo`: each one's run (key ``(index, "run")``),
    then its repeat (``(index, "repeat")``) when it is one of the first `repeats`.

    Every job trains from scratch with the one recipe and the seeds of `train_seeds`, is never
    retrained after a collapse to chance (the validation measures the recipe as it is), and
    runs on ``config.cpu_threads`` torch threads on any executor, so that its result does not
    depend on where it ran.
    """
    from tinynas.executor import TrainJob
    from tinynas.train import TrainConfig

    recipe = TrainConfig(epochs=config.epochs, warmup_epochs=config.warmup_epochs)
    jobs = []
    for index in todo:
        arch_json = archs[index][0].to_json()
        seeds = dict(zip(("run", "repeat"), train_seeds(config, index)))
        stages = ("run", "repeat") if index < config.repeats else ("run",)
        jobs += [TrainJob((index, stage), arch_json, recipe, seeds[stage],
                          reseed_collapsed=False, threads=config.cpu_threads,
                          curve=stage == "run")
                 for stage in stages]  # fmt: skip
    return jobs


def arch_result(index: int, arch: Architecture, est: Estimate,
                trained: dict[str, TrainOutcome], scores: tuple[dict[str, float],
                                                                dict[str, float]]) -> ArchResult:
    """The row of architecture `index` from its scores and its trainings' outcomes (by stage:
    ``"run"``, and ``"repeat"`` when it was trained twice)."""
    first, repeat = trained["run"], trained.get("repeat")
    assert first.val_accuracy is not None, "a validation training measures its accuracy"
    estimates = {"params": est.params, "macs": est.macs, "flash_bytes": est.flash_bytes,
                 "arena_bytes": est.arena_bytes, "latency_ms": est.latency_ms}
    return ArchResult(index, arch, estimates, first.val_accuracy,
                      None if repeat is None else repeat.val_accuracy, first.train_seconds,
                      first.device, *scores, accuracy_curve=first.curve)  # fmt: skip


def given_architectures(path: str | Path, input_shape: tuple[int, ...], num_classes: int,
                        device: Device, known: Mapping[str, str] | None = None,
                        ) -> list[tuple[Architecture, Estimate]]:
    """The architectures of a JSON Lines file (`tinynas.space.read_architecture_lines`) with
    their estimates on `device`; they need not fit its budget.

    Raises:
        SearchSpaceError: A line that is not an architecture, or one the dataset cannot feed
            (named with its number); a file with the same architecture twice, or one of
            `known` (content hash -> what it already is).
    """
    from tinynas.errors import SearchSpaceError
    from tinynas.estimators import estimate

    seen: dict[str, int] = {}
    out = []
    for line, arch in read_architecture_lines(path):
        problem = data_mismatch(arch, input_shape, num_classes)
        if problem is not None:
            raise SearchSpaceError(f"{path} line {line}: {problem}")
        if arch.content_hash in seen:
            raise SearchSpaceError(f"{path} line {line}: the architecture of line "
                                   f"{seen[arch.content_hash]} again; list each one once")
        if known and arch.content_hash in known:
            raise SearchSpaceError(f"{path} line {line}: already {known[arch.content_hash]}; "
                                   "leave it out")
        seen[arch.content_hash] = line
        out.append((arch, estimate(arch, device)))
    return out


def _with_added(archs: list[tuple[Architecture, Estimate]], path: str, ds: Dataset,
                device: Device) -> list[tuple[Architecture, Estimate]]:
    """`archs` followed by the architectures of the file `path` (`given_architectures`).

    Raises:
        SearchSpaceError: A bad line of `path`, or one that is already among `archs`.
    """
    known = {arch.content_hash: f"architecture {i} of the validation"
             for i, (arch, _) in enumerate(archs)}
    return [*archs, *given_architectures(path, ds.input_shape, ds.num_classes, device, known)]


def _sha256(path: str) -> str:
    """The file's SHA-256: what a resumed validation checks its architectures file against."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _check(config: ValidationConfig) -> None:
    if config.samples < 2 or not 0 <= config.repeats <= config.samples:
        raise ProxyValidationError(
            f"--samples must be at least 2 and --repeats between 0 and --samples; got "
            f"samples={config.samples}, repeats={config.repeats}")
    if not config.epochs > 0 or config.metric_batch < 2 or config.cpu_threads < 1:
        raise ProxyValidationError(
            f"--epochs must be positive, the metric batch at least 2 and the CPU threads at "
            f"least 1; got {config.epochs}, {config.metric_batch} and {config.cpu_threads}")


def validate_proxies(
    config: ValidationConfig,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    devices_dir: str | Path | None = None,
    workers: int = 0,
    ray: str | None = None,
    gpus_per_job: float = 0.0,
) -> dict[str, Any]:
    """Runs (or resumes) a proxy validation; returns its summary (also in ``summary.json``).

    Where the trainings run (`workers`, `ray`, `gpus_per_job`) is not a setting of the
    validation: it is not kept in ``config.json``, and a resumed validation may train
    elsewhere.

    Args:
        config: What to validate and how to train.
        out: The folder of the results; by default ``runs/proxies/<dataset>`` (or under
            ``$TINYNAS_PROXIES_DIR``), where ``best_validated_metric`` finds it.
        resume: Continue the validation kept in `out`.
        progress: Called with (architectures done, total) after each one.
        devices_dir: Extra board TOML files.
        workers: Train in this many local worker processes (0: in this process).
        ray: Train on Ray (``tinynas.executor.make_executor``): None not, "" a local Ray or
            ``$RAY_ADDRESS``, else the cluster's address.
        gpus_per_job: With `ray`, the share of a GPU each training asks for.

    Raises:
        ProxyValidationError: Bad settings, a kept validation in `out` without `resume`, a
            resumed one with other settings, too few architectures that fit, or trainings
            that failed (the other architectures are kept; resume to train these again).
        TinyNASError: An unknown device, dataset or metric, or an executor that cannot start.
    """
    from tinynas.data import load_dataset
    from tinynas.devices import get_device
    from tinynas.estimators import Budget
    from tinynas.executor import make_executor

    _check(config)
    names = _metric_names(config.metrics)
    device = get_device(config.device, devices_dir)
    budget = Budget.for_device(device, config.max_flash_bytes, config.max_ram_bytes,
                               config.max_latency_ms)
    ds = load_dataset(config.dataset, config.data_dir)
    folder = Path(out) if out is not None else default_out(ds.name)
    settings = {**config.to_dict(), "dataset": ds.name, "device": device.name,
                "metrics": list(names)}
    given = config.architectures
    if given is not None:
        archs = given_architectures(given, ds.input_shape, ds.num_classes, device)
        config = replace(config, samples=len(archs), repeats=min(config.repeats, len(archs)))
        _check(config)
        settings.update(samples=len(archs), repeats=config.repeats,
                        architectures_sha256=_sha256(given))
    else:
        archs = validation_architectures(ds.input_shape, ds.num_classes, device, budget,
                                         config.samples, config.seed, config.space)
    if config.added_architectures is not None:
        archs = _with_added(archs, config.added_architectures, ds, device)
        settings.update(added_architectures=len(archs) - config.samples,
                        added_architectures_sha256=_sha256(config.added_architectures))
    executor = make_executor(workers, ray, gpus_per_job)  # before any file is written
    try:
        check_config(folder, settings, resume)
        results = ResultsFile(folder / CSV_NAME, names)
        kept = _kept(results, resume)
        _check_kept(kept, archs, folder)
        _run(config, names, device, budget, ds, archs, kept, results, progress, executor)
    finally:
        executor.close()
    rows = sorted(results.load(), key=lambda r: r.index)[: len(archs)]
    return _finish(folder, rows, names, config, settings, ds, budget)


def _kept(results: ResultsFile, resume: bool) -> dict[int, ArchResult]:
    if resume and results.path.exists():
        return {r.index: r for r in results.load()}
    results.create()
    return {}


def _check_kept(kept: dict[int, ArchResult], archs: Sequence[tuple[Architecture, Any]],
                folder: Path) -> None:
    for index, result in kept.items():
        if index < len(archs) and archs[index][0].content_hash != result.arch_hash:
            raise ProxyValidationError(
                f"{folder / CSV_NAME} row {index} holds architecture {result.arch_hash}, not "
                f"{archs[index][0].content_hash} as these settings sample; choose another "
                f"--out (the kept {CONFIG_NAME} does not match its results)")


def _run(config: ValidationConfig, names: Sequence[str], device: Device, budget: Budget,
         ds: Dataset, archs: Sequence[tuple[Architecture, Estimate]],
         kept: dict[int, ArchResult], results: ResultsFile, progress: Progress | None,
         executor: Executor) -> None:
    """Scores every architecture that is not kept (here), trains them (on `executor`), and
    appends each one's row as soon as its trainings are back.

    Raises:
        ProxyValidationError: Trainings failed; every other architecture's row is kept.
    """
    from tinynas.data import SplitData

    todo = [i for i in range(len(archs)) if i not in kept]
    done = len(archs) - len(todo)
    if progress is not None:
        progress(done, len(archs))
    if not todo:
        return
    metrics = {name: _make_metric(name, device, budget) for name in names}
    split = split_data(ds, config)
    # scored before any training, with the caller's torch threads, as before executors
    scores = {i: score_all(metrics, archs[i][0], split.batch, config.seed) for i in todo}
    data = SplitData(split.x_train, split.y_train, split.x_val, split.y_val, ds.num_classes)
    jobs = training_jobs(config, archs, todo)
    needed = {i: 2 if i < config.repeats else 1 for i in todo}
    back: dict[int, dict[str, TrainOutcome]] = {}
    failed: list[TrainOutcome] = []
    with _cpu_threads(config.cpu_threads):  # restores the caller's count after inline jobs
        for outcome in executor.run(jobs, data):
            index, stage = outcome.key
            if outcome.failed:
                failed.append(outcome)
            trained = back.setdefault(index, {})
            trained[stage] = replace(outcome, weights=b"")  # the weights are not kept
            if len(trained) < needed[index]:
                continue
            del back[index]
            scored = scores.pop(index)
            if any(o.failed for o in trained.values()):
                continue
            arch, est = archs[index]
            results.append(arch_result(index, arch, est, trained, scored))
            done += 1
            if progress is not None:
                progress(done, len(archs))
    if failed:
        lost = len({o.key[0] for o in failed})
        raise ProxyValidationError(
            f"{len(failed)} of {len(jobs)} trainings failed ({executor.describe()}), so "
            f"{lost} architecture(s) have no row; the first: {failed[0].error} (worker "
            f"{failed[0].worker}). The {done} done are kept in {results.path}: fix the cause "
            "and continue with --resume")


def _finish(folder: Path, rows: list[ArchResult], names: Sequence[str], config: ValidationConfig,
            settings: dict[str, Any], ds: Dataset, budget: Budget) -> dict[str, Any]:
    from tinynas.proxies._plots import draw_scatter_grid, scatter_info
    from tinynas.proxies._summary import summarise

    n_val, n_train = split_sizes(len(ds.y_train), config)
    context = {
        "settings": settings, "num_classes": ds.num_classes,
        "images": {"train": n_train, "validation": n_val},
        "budget": {"flash_bytes": budget.flash_bytes, "ram_bytes": budget.ram_bytes,
                   "latency_ms": budget.latency_ms},
    }
    summary = summarise(rows, names, context)
    summary["files"] = {k: str(folder / v) for k, v in
                        (("csv", CSV_NAME), ("summary", SUMMARY_NAME), ("plot", PLOT_NAME))}
    write_json(folder / SUMMARY_NAME, summary)
    draw_scatter_grid(scatter_info(rows, summary), folder / PLOT_NAME)
    return summary
