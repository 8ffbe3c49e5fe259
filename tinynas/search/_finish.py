"""The last stage: train the winner fully, convert it, verify it, write the deliverables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.search._halving import SplitData, train_stage
from tinynas.store import CandidateRecord, RunStore
from tinynas.train import TrainConfig

REPRESENTATIVE_SAMPLES = 512  # calibration inputs for int8 conversion


@dataclass(frozen=True)
class Finished:
    """The chosen model and what was measured of it."""

    candidate: CandidateRecord
    float_accuracy: float  # torch float network on the test split
    int8_accuracy: float | None  # the int8 model itself (TFLM) on the test split
    flash_bytes: int  # the .tflite file
    arena_bytes: int  # measured in TFLM (x86 reference build)
    export: Any  # tinynas.export.ExportResult


def finish(
    store: RunStore,
    winner: CandidateRecord,
    data: SplitData,
    x_test: np.ndarray,
    y_test: np.ndarray,
    config: TrainConfig,
    dataset_name: str,
    seed: int,
    out_dir: Path,
) -> Finished:
    """Trains `winner` from scratch for `config.epochs` on `data`'s training and validation
    parts together (the whole training split of the dataset), then exports it."""
    import torch

    from tinynas.export import export_model
    from tinynas.train import fit_inputs

    full = SplitData(
        np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val]),
        data.x_val, data.y_val, data.num_classes,
    )
    _, net = train_stage(store, winner, full, config, "final", seed)
    arch = winner.architecture
    x_test_fit = fit_inputs(torch.from_numpy(x_test), arch.input_shape).numpy()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(full.x_train), min(REPRESENTATIVE_SAMPLES, len(full.x_train)),
                      replace=False)
    representative = fit_inputs(torch.from_numpy(full.x_train[pick]), arch.input_shape).numpy()
    result = export_model(
        arch, net, out_dir, dataset_name=dataset_name, test_inputs=x_test_fit,
        test_labels=y_test, representative=representative,
    )
    torch.save(net.state_dict(), out_dir / "weights.pt")
    (out_dir / "architecture.json").write_text(arch.to_json() + "\n")
    float_accuracy = float(result.verification.float_accuracy or 0.0)
    int8_accuracy = result.verification.int8_accuracy
    store.add_training(winner.id, epochs=config.epochs, seed=seed, stage="final-test",
                       val_accuracy=None, test_accuracy=float_accuracy,
                       int8_accuracy=int8_accuracy, train_seconds=0.0, device="cpu")
    store.set_chosen(winner.id)
    return Finished(winner, float_accuracy, int8_accuracy, result.tflite_path.stat().st_size,
                    int(result.card["tflm_arena_bytes"]), result)
