"""One supernet, several boards: `tinynas search --device A,B,C`.

Once-for-All (Cai et al., ICLR 2020) trains one weight-sharing network and then specialises
it per hardware target without training from scratch again; MCUNet (Lin et al., NeurIPS 2020)
does the same for microcontrollers. Here:

1. the supernet of the regular space (`tinynas.supernet`) is trained once on the dataset by
   progressive shrinking, checkpointed per epoch in ``OUT/supernet/`` (a killed run resumes
   at the next epoch);
2. for each board, a strategy over the supernet's sub-networks (OFA's evolution, the REINFORCE
   controller, or random draws) explores `candidates` of them in a run folder of its own
   (``OUT/<board>/``, an ordinary run store): the exact estimators reject those over the
   board's flash, RAM and latency, the `supernet` ranker scores the rest by their accuracy with
   inherited, recalibrated weights on SCORE_IMAGES held-out images;
3. the best is fine-tuned from its inherited weights for `finetune_epochs` (a fifth of the
   search's learning rate, no warm-up), converted to int8, tested in TFLM and held to the
   board's budget by its measured file and arena, as every delivered model is;
4. ``OUT/boards.md`` and the summary give the boards side by side and the compute of each
   stage (the supernet counted once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget
from tinynas.pipeline._explore import ExploreLimits, explore, replay
from tinynas.pipeline._finish import finish
from tinynas.search import DecisionEvolutionStrategy, ReinforceStrategy, SearchSpace
from tinynas.store import CandidateStatus, RunLayout, open_run

BOARD_STRATEGIES = ("ofa-evolution", "rl", "random")
DEFAULT_BOARD_CANDIDATES = 300  # per board
SCORE_IMAGES = 2000  # held-out images the inherited accuracy is measured on while searching
FINETUNE_LR_SHARE = 0.2  # of the search recipe's learning rate: the weights are trained already
RESULT = "result.json"  # a finished board's row, so a resumed run does not redo it
# a supernet a 2-core CPU trains in under an hour on Fashion-MNIST: 3 stages of full
# convolutions, 1-3 layers each, kernels 3 or 5 (largest: 16 M MACs at 28 x 28)
WIDTHS = ((4, 8, 12), (8, 16, 24), (16, 24, 32))
KERNELS = (3, 5)

Progress = Callable[[str, int, int | None], None]  # stage, done, total


@dataclass(frozen=True)
class BoardsConfig:
    """A search of one supernet for several boards (module docstring)."""

    devices: tuple[str, ...]
    out: Path
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    strategy: str = "ofa-evolution"
    candidates: int = DEFAULT_BOARD_CANDIDATES
    finetune_epochs: float = 2.0
    supernet_epochs: float = 3.0  # per phase of progressive shrinking
    widths: tuple[tuple[int, ...], ...] = WIDTHS
    kernels: tuple[int, ...] = KERNELS
    max_flash_bytes: int | None = None  # every board's limits, tightened by these
    max_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    train_subset: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class BoardResult:
    """One board's delivered model; accuracies measured on the test split, latency
    predicted."""

    device: str
    out: str
    evaluated: int
    rejected: int
    inherited_accuracy: float  # held-out, before the fine-tune
    finetune_epochs: float
    float_accuracy: float
    int8_accuracy: float | None
    flash_bytes: int
    arena_bytes: int
    latency_ms: float | None
    macs: int
    params: int
    architecture: dict[str, Any]
    search_s: float
    finetune_s: float  # the fine-tune, conversion and the TFLM test


@dataclass(frozen=True)
class BoardsSummary:
    out: str
    dataset: str
    strategy: str
    supernet: dict[str, Any]  # space, recipe, training seconds (all sittings)
    boards: list[BoardResult] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return float(self.supernet["train_s"]) + sum(b.search_s + b.finetune_s
                                                     for b in self.boards)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"total_s": self.total_s}

    def table(self) -> str:
        """The boards side by side (markdown)."""
        lines = ["| board | int8 acc | float acc | inherited acc | flash B | TFLM arena B | "
                 "latency ms (predicted) | MACs | search s | fine-tune s |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for b in self.boards:
            int8 = "-" if b.int8_accuracy is None else f"{b.int8_accuracy:.2%}"
            latency = "-" if b.latency_ms is None else f"{b.latency_ms:.1f}"
            lines.append(f"| {b.device} | {int8} | {b.float_accuracy:.2%} | "
                         f"{b.inherited_accuracy:.2%} | {b.flash_bytes:,} | {b.arena_bytes:,} | "
                         f"{latency} | {b.macs:,} | {b.search_s:.0f} | {b.finetune_s:.0f} |")
        return "\n".join(lines)


def board_strategy(name: str, space: SearchSpace, schema: Any, seed: int) -> Any:
    """The strategy `name` of BOARD_STRATEGIES over the sub-networks of `schema`."""
    if name == "rl":
        return ReinforceStrategy(space, seed, schema=schema)
    if name == "random":  # the controller's sampler, never updated: uniform draws
        return ReinforceStrategy(space, seed, schema=schema, learning_rate=0.0)
    return DecisionEvolutionStrategy(space, seed, schema=schema)


def check_boards_config(config: BoardsConfig) -> None:
    """Raises TinyNASError on settings a run of several boards cannot use."""
    if config.strategy not in BOARD_STRATEGIES:
        raise TinyNASError(f"a search for several boards searches the supernet with "
                           f"{', '.join(BOARD_STRATEGIES)}; not --strategy {config.strategy}")
    if len(set(config.devices)) != len(config.devices) or len(config.devices) < 2:
        raise TinyNASError("--device lists the boards once each, at least two of them, "
                           "comma-separated")


def run_boards(config: BoardsConfig, resume: bool = False, progress: Progress | None = None,
               devices_dir: str | Path | None = None) -> BoardsSummary:
    """Runs (or resumes) the search of one supernet for every board of `config`."""
    from tinynas.data import holdout_split, load_dataset
    from tinynas.devices import get_device

    check_boards_config(config)
    devices = [get_device(name, devices_dir) for name in config.devices]
    ds = load_dataset(config.dataset, config.data_dir)
    if len(ds.input_shape) != 3:
        raise TinyNASError(f"the supernet takes images (height, width, channels); {ds.name} "
                           f"has inputs of shape {list(ds.input_shape)}")
    if not resume and config.out.exists() and any(config.out.iterdir()):
        raise TinyNASError(f"{config.out} is not empty; choose a new --out, or pass --resume "
                           "to continue the search kept there")
    config.out.mkdir(parents=True, exist_ok=True)
    data = holdout_split(ds, config.seed, config.train_subset)
    net, supernet = _trained_supernet(config, ds.input_shape, ds.num_classes, data, resume,
                                      progress)
    boards = [_board(config, device, net, data, ds, resume, progress) for device in devices]
    summary = BoardsSummary(str(config.out), ds.name, config.strategy, supernet, boards)
    (config.out / "boards.md").write_text(
        f"# One supernet, {len(boards)} boards\n\n{summary.table()}\n\nSupernet: "
        f"{supernet['train_s']:.0f} s of training, counted once; total compute "
        f"{summary.total_s:.0f} s.\n")
    (config.out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _trained_supernet(config: BoardsConfig, input_shape: tuple[int, ...], num_classes: int,
                      data: Any, resume: bool,
                      progress: Progress | None) -> tuple[Any, dict[str, Any]]:
    from tinynas.supernet import PHASES, SupernetRecipe, SupernetSpace, train_supernet

    folder = config.out / "supernet"
    record_path = folder / "supernet.json"
    space = SupernetSpace(tuple(input_shape), num_classes, widths=config.widths,
                          kernels=config.kernels)
    recipe = SupernetRecipe(epochs_per_phase=config.supernet_epochs, seed=config.seed)
    wanted = {"widths": [list(w) for w in space.widths], "kernels": list(space.kernels),
              "depths": list(space.depths), "recipe": asdict(recipe)}
    record: dict[str, Any] = {**wanted, "train_s": 0.0}
    if record_path.exists():
        kept = json.loads(record_path.read_text())
        if not resume:
            raise TinyNASError(f"{config.out} already holds a search; pass --resume to continue "
                               "it or choose another --out")
        if {k: kept.get(k) for k in wanted} != json.loads(json.dumps(wanted)):
            raise TinyNASError(f"{config.out} holds a supernet of other settings; resume with "
                               "the settings it was started with, or choose another --out")
        record = kept
    folder.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    epochs_total = len(PHASES) * max(1, int(np.ceil(config.supernet_epochs)))
    done = [0]

    def on_epoch(phase: str, epoch: int, seconds: float) -> None:
        record["train_s"] += seconds
        record_path.write_text(json.dumps(record, indent=2) + "\n")
        done[0] += 1
        if progress:
            progress("supernet", done[0], epochs_total)

    net = train_supernet(space, data.x_train, data.y_train, recipe,
                         checkpoint=folder / "supernet.pt", on_epoch=on_epoch)
    return net, record


def _board(config: BoardsConfig, device: Device, net: Any, data: Any, ds: Any, resume: bool,
           progress: Progress | None) -> BoardResult:
    from tinynas.executor import net_bytes
    from tinynas.supernet import SupernetMetric, SupernetSchema, config_of, recalibrate
    from tinynas.train import recipe_for

    out = config.out / device.name
    if resume and (out / RESULT).exists():
        return BoardResult(**json.loads((out / RESULT).read_text()))
    budget = Budget.for_device(device, config.max_flash_bytes, config.max_ram_bytes,
                               config.max_latency_ms)
    settings = {"device": device.name, "dataset": ds.name, "strategy": config.strategy,
                "metric": "supernet", "candidates": config.candidates, "seed": config.seed,
                "finetune_epochs": config.finetune_epochs}
    store = open_run(out, settings, resume and (out / "run.db").exists(),
                     ("device", "dataset", "strategy", "seed"))
    try:
        store.set_meta("status", "running")
        store.set_meta("metric", "supernet")
        space = SearchSpace(ds.input_shape, ds.num_classes)
        strategy = board_strategy(config.strategy, space, SupernetSchema(net.space), config.seed)
        replay(store, strategy, "supernet")
        metric = SupernetMetric(net, data.x_train, data.x_val[:SCORE_IMAGES],
                                data.y_val[:SCORE_IMAGES])
        no_batch = (data.x_train[:0], data.y_train[:0])  # the ranker needs none
        clock = time.monotonic()
        explore(store, strategy, metric, no_batch, device, budget,
                ExploreLimits(candidates=config.candidates), config.seed,
                on_result=lambda n: progress and progress(f"search {device.name}", n,
                                                          config.candidates))
        search_s = time.monotonic() - clock + float(store.get_meta("search_s") or 0.0)
        store.set_meta("search_s", search_s)
        scored = [r for r in store.candidates(CandidateStatus.SCORED) + store.candidates(
            CandidateStatus.TRAINED) + store.candidates(CandidateStatus.TRAINING)
            if "supernet" in r.scores]
        if not scored:
            raise TinyNASError(f"no sub-network of the supernet fits {device.name} (flash <= "
                               f"{budget.flash_bytes} B, RAM <= {budget.ram_bytes} B); drop "
                               "this board or widen the limits")
        winner = max(scored, key=lambda r: (r.scores["supernet"], -r.id))
        sub = config_of(net.space, winner.architecture)
        inherited = recalibrate(net, sub, data.x_train)
        recipe = recipe_for(ds.name, config.finetune_epochs)
        recipe = replace(recipe, lr=recipe.lr * FINETUNE_LR_SHARE, warmup_epochs=0.0)
        clock = time.monotonic()
        done = finish(store, winner, data, ds.x_test, ds.y_test, recipe, ds.name, config.seed,
                      RunLayout(out), budget, device, weights=net_bytes(inherited))
        est = winner.estimates  # the exact estimators' figures, stored when it was explored
        rejected = store.count(CandidateStatus.REJECTED)
        result = BoardResult(
            device.name, str(out), store.count(), rejected, winner.scores["supernet"],
            config.finetune_epochs, done.float_accuracy, done.int8_accuracy, done.flash_bytes,
            done.arena_bytes, est.get("latency_ms"), int(est["macs"]), int(est["params"]),
            json.loads(winner.architecture.to_json()), search_s, time.monotonic() - clock)
        (out / RESULT).write_text(json.dumps(asdict(result), indent=2) + "\n")
        store.finish("finished")
        return result
    except TinyNASError:
        store.finish("failed")
        raise
    finally:
        store.close()
