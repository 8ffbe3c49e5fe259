"""Successive halving over the shortlist (Jamieson & Talwalkar 2016).

Rung r trains every survivor for `first_epochs * 2**r` more epochs (continuing from its
weights), then keeps the better half by validation accuracy, until one network is left; that
one is not trained further here, since the final stage trains it from scratch. The trainings of
a rung are independent jobs, run by an executor (this process, local worker processes, or Ray)
while this process, the driver, alone writes the store: each outcome is committed as it comes
back, with the network's weights beside it, so a resumed run picks up the trainings of the
first rung not yet finished. A network that collapses to chance (a known failure of this recipe
at this scale) is retrained once with another seed; a training that fails for good marks its
candidate failed, and the rung goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.executor import Executor, InlineExecutor, TrainJob, TrainOutcome, net_from_bytes
from tinynas.store import CandidateRecord, CandidateStatus, RunStore
from tinynas.train import SoftTargets, TrainConfig


def train_stage(
    store: RunStore,
    record: CandidateRecord,
    data: SplitData,
    config: TrainConfig,
    stage: str,
    seed: int,
    soft: SoftTargets | None = None,
    executor: Executor | None = None,
    weights: bytes | None = None,
) -> tuple[float, Any]:
    """Trains one candidate for one stage as one job of `executor` (this process by default),
    from scratch or from `weights` (`tinynas.executor.net_bytes`), or loads the stored result;
    returns (validation accuracy, trained network).

    Raises:
        TinyNASError: The training failed for good.
    """
    executor = executor or InlineExecutor()
    kept = _kept(store, record, stage)
    if kept is not None:
        return kept[0], net_from_bytes(record.architecture, kept[1])
    store.set_status(record.id, CandidateStatus.TRAINING)
    job = TrainJob((record.id, stage), record.architecture.to_json(), config, seed,
                   weights=weights, soft=soft)
    (outcome,) = executor.run([job], data)
    if outcome.failed:
        store.set_status(record.id, CandidateStatus.FAILED,
                         f"training {stage} failed: {outcome.error}")  # fmt: skip
        raise TinyNASError(f"the {stage} training of candidate {record.id} failed "
                           f"({outcome.error}); fix the cause and resume with --resume")
    accuracy, weights = _record(store, record, stage, outcome, config, seed, executor)
    return accuracy, net_from_bytes(record.architecture, weights)


def successive_halving(
    store: RunStore,
    shortlist: list[CandidateRecord],
    data: SplitData,
    config: TrainConfig,
    first_epochs: float,
    seed: int,
    on_trained: Callable[[str, CandidateRecord, float], None] | None = None,
    executor: Executor | None = None,
) -> CandidateRecord:
    """The best candidate of the shortlist by validation accuracy after halving."""
    executor = executor or InlineExecutor()
    survivors = list(shortlist)
    weights: dict[int, bytes] = {}
    rung = 0
    while True:
        stage = f"halving-{rung}"
        rung_config = replace(config, epochs=first_epochs * 2**rung)
        accuracies: dict[int, float] = {}
        jobs = []
        for record in survivors:
            kept = _kept(store, record, stage)
            if kept is not None:
                accuracies[record.id], weights[record.id] = kept
                if on_trained is not None:
                    on_trained(stage, record, accuracies[record.id])
                continue
            store.set_status(record.id, CandidateStatus.TRAINING)
            jobs.append(TrainJob((record.id, stage), record.architecture.to_json(),
                                 rung_config, seed, weights.get(record.id)))  # fmt: skip
        by_id = {r.id: r for r in survivors}
        for outcome in executor.run(jobs, data):
            record = by_id[outcome.key[0]]
            if outcome.failed:
                store.set_status(record.id, CandidateStatus.FAILED,
                                 f"training {stage} failed: {outcome.error}")  # fmt: skip
                continue
            accuracies[record.id], weights[record.id] = _record(store, record, stage, outcome,
                                                                rung_config, seed, executor)
            if on_trained is not None:
                on_trained(stage, record, accuracies[record.id])
        survivors = sorted((r for r in survivors if r.id in accuracies),
                           key=lambda r: -accuracies[r.id])  # fmt: skip
        if not survivors:
            raise TinyNASError(f"every training of {stage} failed (see tinynas runs show "
                               f"{store.run_dir}); fix the cause and resume with --resume")
        survivors = survivors[: max(1, len(survivors) // 2)]
        if len(survivors) == 1:  # the winner; its full training starts from scratch
            return survivors[0]
        rung += 1


def _kept(store: RunStore, record: CandidateRecord, stage: str) -> tuple[float, bytes] | None:
    """The stored accuracy and weights of a training already done, or None."""
    done = [t for t in store.trainings(record.id) if t.stage == stage]
    path = None if store.layout is None else store.layout.weights(record.id, stage)
    if not done or path is None or not path.exists():
        return None
    return float(done[-1].val_accuracy or 0.0), path.read_bytes()


def _record(store: RunStore, record: CandidateRecord, stage: str, outcome: TrainOutcome,
            config: TrainConfig, seed: int, executor: Executor) -> tuple[float, bytes]:
    """Commits one outcome: weights beside the store, then the training row."""
    if store.layout is not None:
        path = store.layout.weights(record.id, stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outcome.weights)
    where = outcome.device if executor.backend == "local" else \
        f"{outcome.device} on {outcome.worker} ({executor.backend})"
    store.add_training(record.id, epochs=config.epochs, seed=seed, stage=stage,
                       val_accuracy=outcome.val_accuracy, train_seconds=outcome.train_seconds,
                       device=where)  # fmt: skip
    store.set_status(record.id, CandidateStatus.TRAINED)
    return float(outcome.val_accuracy or 0.0), outcome.weights
