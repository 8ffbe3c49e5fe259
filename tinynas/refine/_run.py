"""`tinynas refine RUN`: refine a search run's chosen (or named) candidate and deliver it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinynas.errors import TinyNASError
from tinynas.refine._refine import RefineConfig, refine


def refine_run(run_dir: str | Path, config: RefineConfig, candidate_id: int | None = None,
               retrain_epochs: float = 10.0,
               devices_dir: str | Path | None = None) -> dict[str, Any]:
    """Refines a stored candidate, retrains the refined network, exports it into
    RUN/refined-<method>/ and records it in the run store; returns a summary."""
    from tinynas.data import holdout_split, load_dataset
    from tinynas.devices import get_device
    from tinynas.estimators import Budget
    from tinynas.export import export_model
    from tinynas.store import CandidateStatus, RunLayout, RunStore
    from tinynas.train import recipe_for, train

    run = Path(run_dir)
    store = RunStore.open(run)
    try:
        record = store.candidate(candidate_id) if candidate_id is not None else store.chosen()
        if record is None:
            raise TinyNASError(f"{run} has no chosen model yet; pass --candidate ID "
                               "(tinynas runs show lists them)")
        stored = store.config()
        device = get_device(stored["device"], devices_dir)
        ds = load_dataset(stored["dataset"], stored.get("data_dir"))
        data = holdout_split(ds, stored.get("seed", 0), stored.get("train_subset"))
        board = Budget.for_device(device, stored.get("max_flash_bytes"),
                                  stored.get("max_ram_bytes"), stored.get("max_latency_ms"),
                                  stored.get("max_unas_peak_bytes"),
                                  stored.get("max_unas_size_bytes"))
        result = refine(record.architecture, data.x_train, data.y_train, device, config)
        if board.violations(result.estimate):
            raise TinyNASError("refined network is over the board's budget; this is a bug")
        trained = train(result.refined, data.x_train, data.y_train, data.x_val, data.y_val,
                        recipe_for(ds.name, retrain_epochs), config.seed)
        out = RunLayout(run).refined(config.method)
        exported = export_model(result.refined, trained.net, out.root, dataset_name=ds.name,
                                test_inputs=ds.x_test, test_labels=ds.y_test,
                                representative=data.x_train[:512])
        out.architecture.write_text(result.refined.to_json() + "\n")
        new = store.add_candidate(result.refined, CandidateStatus.TRAINED,
                                  result.estimate.to_dict())
        store.add_training(new.id, stage=f"refine-{config.method}", epochs=retrain_epochs,
                           seed=config.seed, train_seconds=trained.train_seconds,
                           device=trained.device, val_accuracy=trained.val_accuracy,
                           test_accuracy=exported.verification.float_accuracy,
                           int8_accuracy=exported.verification.int8_accuracy)
        return {
            "run": str(run), "method": config.method, "from_candidate": record.id,
            "refined_candidate": new.id, "widths": result.widths, "narrowed": result.narrowed,
            "search_seconds": result.search_seconds, "retrain_seconds": trained.train_seconds,
            "val_accuracy": trained.val_accuracy,
            "test_accuracy": exported.verification.float_accuracy,
            "int8_accuracy": exported.verification.int8_accuracy,
            "estimate": result.estimate.to_dict(), "budget": vars(result.budget),
            "out": str(out.root),
        }
    finally:
        store.close()
