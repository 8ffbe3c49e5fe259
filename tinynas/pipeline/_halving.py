"""Successive halving over the shortlist (Jamieson & Talwalkar 2016).

Rung r trains every survivor for `first_epochs * 2**r` more epochs (continuing from its
weights), then keeps the better half by validation accuracy, until one network is left; that
one is not trained further here, since the final stage trains it from scratch. Each
trained rung is committed to the store with the network's weights beside it, so a resumed run
picks up at the first rung not yet finished. A network that collapses to chance (a known
failure of this recipe at this scale) is retrained once with another seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tinynas.data import SplitData
from tinynas.store import CandidateRecord, CandidateStatus, RunStore
from tinynas.train import SoftTargets, TrainConfig, load_net, save_net, train


def _collapsed(accuracy: float, num_classes: int) -> bool:
    return accuracy < 1.5 / num_classes


def train_stage(
    store: RunStore,
    record: CandidateRecord,
    data: SplitData,
    config: TrainConfig,
    stage: str,
    seed: int,
    net: Any = None,
    soft: SoftTargets | None = None,
) -> tuple[float, Any]:
    """Trains one candidate for one stage (or loads the stored result); returns
    (validation accuracy, trained network)."""
    path = None if store.layout is None else store.layout.weights(record.id, stage)
    done = [t for t in store.trainings(record.id) if t.stage == stage]
    if done and path is not None and path.exists():
        return float(done[-1].val_accuracy or 0.0), load_net(record.architecture, path)
    store.set_status(record.id, CandidateStatus.TRAINING)
    result = train(record.architecture, data.x_train, data.y_train, data.x_val, data.y_val,
                   config, seed, net=net, soft=soft)
    validated = len(data.x_val) > 0
    if validated and _collapsed(result.val_accuracy, data.num_classes) and net is None:
        result = train(record.architecture, data.x_train, data.y_train, data.x_val, data.y_val,
                       config, seed + 7919, soft=soft)
    if path is not None:
        save_net(result.net, path)
    store.add_training(record.id, epochs=config.epochs, seed=seed, stage=stage,
                       val_accuracy=result.val_accuracy if validated else None,
                       train_seconds=result.train_seconds,
                       device=result.device)
    store.set_status(record.id, CandidateStatus.TRAINED)
    return result.val_accuracy, result.net


def successive_halving(
    store: RunStore,
    shortlist: list[CandidateRecord],
    data: SplitData,
    config: TrainConfig,
    first_epochs: float,
    seed: int,
    on_trained: Callable[[str, CandidateRecord, float], None] | None = None,
) -> CandidateRecord:
    """The best candidate of the shortlist by validation accuracy after halving."""
    survivors = list(shortlist)
    nets: dict[int, Any] = {}
    rung = 0
    while True:
        epochs = first_epochs * 2**rung
        accuracies = {}
        for record in survivors:
            stage = f"halving-{rung}"
            accuracy, nets[record.id] = train_stage(
                store, record, data, replace(config, epochs=epochs), stage, seed,
                net=nets.get(record.id))
            accuracies[record.id] = accuracy
            if on_trained is not None:
                on_trained(stage, record, accuracy)
        survivors.sort(key=lambda r: -accuracies[r.id])
        survivors = survivors[: max(1, len(survivors) // 2)]
        if len(survivors) == 1:  # the winner; its full training starts from scratch
            return survivors[0]
        rung += 1
