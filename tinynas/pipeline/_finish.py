"""The last stage: train the winner fully, convert it, verify it, write the deliverables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynas.data import SplitData
from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget, estimate
from tinynas.executor import Executor, InlineExecutor, TrainJob, net_from_bytes
from tinynas.pipeline._halving import train_stage
from tinynas.store import CandidateRecord, RunLayout, RunStore
from tinynas.train import SoftTargets, TrainConfig

REPRESENTATIVE_SAMPLES = 512  # calibration inputs for int8 conversion
FINAL_TEST = "final-test"  # the training record of the chosen model's test-split accuracies


@dataclass(frozen=True)
class Finished:
    """The chosen model and what was measured of it."""

    candidate: CandidateRecord
    float_accuracy: float  # torch float network on the test split
    int8_accuracy: float | None  # the int8 model itself (TFLM) on the test split
    flash_bytes: int  # the .tflite file
    arena_bytes: int  # measured in TFLM (x86 reference build)
    export: Any  # tinynas.export.ExportResult
    arena_cortex_m_bytes: int | None = None  # estimated from the .tflite (Cortex-M, CMSIS-NN)
    ram_basis: str = ""  # which arena the RAM verdict held and why (inspection.RamArena)


def finish(
    store: RunStore,
    winner: CandidateRecord,
    data: SplitData,
    x_test: np.ndarray,
    y_test: np.ndarray,
    config: TrainConfig,
    dataset_name: str,
    seed: int,
    layout: RunLayout,
    budget: Budget,
    device: Device,
    teacher: TrainConfig | None = None,
    executor: Executor | None = None,
    weights: bytes | None = None,
) -> Finished:
    """Trains `winner` for `config.epochs` on `data`'s training and validation parts together
    (the whole training split of the dataset), from scratch or, given `weights`, from those
    (a sub-network's inherited weights: a fine-tune), then exports it. With a
    `teacher` recipe, a teacher network is trained first on the same data (or loaded, when a
    resumed run has one) and the winner learns from its soft targets too. Both trainings are
    jobs of `executor` (this process by default), like the halving's.

    The winner is held to `budget` whatever path chose it: by its estimates before it is
    trained, and by the measured file size and TFLM arena once it is converted (on a board that
    runs TFLM with CMSIS-NN, the Cortex-M arena estimated from the .tflite; else the arena
    measured in TFLM's x86 build); a model over the budget is not delivered (its files are
    removed) and the run fails with the reason.
    """
    import torch

    from tinynas.export import export_model
    from tinynas.inspection import cortex_m_estimate, ram_arena
    from tinynas.tflite_file import read_tflite
    from tinynas.train import fit_inputs, save_net

    over = budget.violations(estimate(winner.architecture, device))
    if over:
        raise TinyNASError(f"the chosen candidate {winner.id} is over the budget "
                           f"({'; '.join(over)}); nothing was delivered")

    full = SplitData(
        np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val]),
        data.x_val, data.y_val, data.num_classes,
    )
    soft = None
    if teacher is not None:
        soft = teacher_targets(store, full, x_test, y_test, teacher, seed, config.flip,
                               executor)  # fmt: skip
    _, net = train_stage(store, winner, full, config, "final", seed, soft=soft,
                         executor=executor, weights=weights)  # fmt: skip
    arch = winner.architecture
    x_test_fit = fit_inputs(torch.from_numpy(x_test), arch.input_shape).numpy()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(full.x_train), min(REPRESENTATIVE_SAMPLES, len(full.x_train)),
                      replace=False)
    representative = fit_inputs(torch.from_numpy(full.x_train[pick]), arch.input_shape).numpy()
    result = export_model(
        arch, net, layout.root, dataset_name=dataset_name, test_inputs=x_test_fit,
        test_labels=y_test, representative=representative,
    )
    flash_bytes = result.tflite_path.stat().st_size
    arena_bytes = int(result.card["tflm_arena_bytes"])
    cortex_m = cortex_m_estimate(read_tflite(result.tflite_path))
    held = ram_arena(arena_bytes, cortex_m, device)
    _deliver_within(budget, flash_bytes, held.bytes, result, held.basis)
    save_net(net, layout.chosen_weights)
    layout.architecture.write_text(arch.to_json() + "\n")
    float_accuracy = float(result.verification.float_accuracy or 0.0)
    int8_accuracy = result.verification.int8_accuracy
    if not any(t.stage == FINAL_TEST for t in store.trainings(winner.id)):  # once, on resume too
        store.add_training(winner.id, epochs=config.epochs, seed=seed, stage=FINAL_TEST,
                           val_accuracy=None, test_accuracy=float_accuracy,
                           int8_accuracy=int8_accuracy, train_seconds=0.0, device="cpu")
    store.set_chosen(winner.id)
    return Finished(winner, float_accuracy, int8_accuracy, flash_bytes, arena_bytes, result,
                    cortex_m.total_bytes, held.basis)


def _deliver_within(budget: Budget, flash_bytes: int, arena_bytes: int, result: Any,
                    arena_basis: str = "x86 TFLM arena (measured)") -> None:
    """Removes the exported files and fails the run when the converted model is over budget:
    its file size, and the arena `arena_basis` names (the estimators agree with the file and
    the arena to a fraction of a percent, so this guards against a path that skipped them, not
    against estimate error)."""
    over = []
    if budget.flash_bytes is not None and flash_bytes > budget.flash_bytes:
        over.append(f"flash {flash_bytes} B > {budget.flash_bytes} B, measured")
    if budget.ram_bytes is not None and arena_bytes > budget.ram_bytes:
        over.append(f"ram {arena_bytes} B > {budget.ram_bytes} B, {arena_basis}")
    if not over:
        return
    for path in (result.tflite_path, result.c_array.source_path, result.c_array.header_path,
                 result.card_path):
        path.unlink(missing_ok=True)
    raise TinyNASError(f"the converted model is over the budget ({'; '.join(over)}); nothing "
                       "was delivered")


def teacher_targets(store: RunStore, full: SplitData, x_test: np.ndarray, y_test: np.ndarray,
                    config: TrainConfig, seed: int, mirrored: bool,
                    executor: Executor | None = None) -> SoftTargets:
    """The soft targets of the run's teacher network (`tinynas.train.teacher_architecture`)
    for `full`'s training images: the teacher is trained once and kept, its weights in the run
    folder and its record (architecture, recipe, time, test accuracy) in the run's metadata
    under 'teacher'."""
    import torch

    from tinynas.space import Architecture
    from tinynas.train import evaluate, load_net, save_net, soft_targets, teacher_architecture

    path = None if store.layout is None else store.layout.teacher_weights
    kept = store.get_meta("teacher")
    if kept is not None and path is not None and path.exists():
        net = load_net(Architecture.from_dict(kept["architecture"]), path)
    else:
        arch = teacher_architecture(tuple(full.x_train.shape[1:]), full.num_classes)
        unvalidated = SplitData(full.x_train, full.y_train, full.x_val[:0], full.y_val[:0],
                                full.num_classes)  # fmt: skip
        job = TrainJob((0, "teacher"), arch.to_json(), config, seed)
        (outcome,) = (executor or InlineExecutor()).run([job], unvalidated)
        if outcome.failed:
            raise TinyNASError(f"the teacher's training failed ({outcome.error}); fix the "
                               "cause and resume with --resume")  # fmt: skip
        net = net_from_bytes(arch, outcome.weights)
        if path is not None:
            save_net(net, path)
        test_accuracy = evaluate(net, torch.from_numpy(x_test), torch.from_numpy(y_test))
        store.set_meta("teacher", {
            "architecture": arch.to_dict(), "epochs": config.epochs, "seed": seed,
            "train_seconds": outcome.train_seconds, "device": outcome.device,
            "test_accuracy": test_accuracy, "provenance": "measured (float, test split)"})
    return soft_targets(net, full.x_train, mirrored)
