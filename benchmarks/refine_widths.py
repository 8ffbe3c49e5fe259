"""Width refinement against the unrefined network: RARTS, first-order DARTS and P-DARTS.

Starts from a search run's chosen architecture and its board budget. For each seed: retrains
the unrefined network, and refines it with each method (then retrains the refined network with
the same recipe). The refined networks must cost no more flash, RAM and latency than the
unrefined one (the refinement budget); accuracies are measured on the test split, float with
the torch network and int8 with the exported model, and the extra compute of refinement is
timed. Every network is exported to int8 TFLite (--models) and gated with `tinynas check
--device BOARD [--max-latency MS]` under the run's board and latency limit.

    python benchmarks/refine_widths.py --run runs/fmnist-small --seeds 0 1 2

Each (seed, method) row is kept in the record (--record) as it finishes; a killed comparison
rerun with the same arguments trains only what it has no row for.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinynas.data import load_dataset
from tinynas.devices import get_device
from tinynas.estimators import estimate
from tinynas.export import export_model
from tinynas.refine import Rates, RefineConfig, refine
from tinynas.store import RunStore
from tinynas.train import TrainConfig, evaluate, train

ROOT = Path(__file__).resolve().parent.parent


def _subset(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    pick = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[pick], y[pick]


def _check(tflite: Path, config: dict[str, Any]) -> dict[str, Any]:
    """`tinynas check`'s verdict on one model under the run's own limits (exit 1, a limit
    exceeded, is a verdict too). A run's --max-flash/--max-ram bound the model alone and
    check's bound the model plus the board's reserve, so the reserve is added."""
    device = get_device(config["device"])
    command = [sys.executable, "-m", "tinynas", "check", os.path.relpath(tflite, ROOT),
               "--device", config["device"], "--json"]
    if config.get("max_flash_bytes") is not None:
        command += ["--max-flash", str(config["max_flash_bytes"] +
                                       device.firmware_reserve_bytes)]
    if config.get("max_ram_bytes") is not None:
        command += ["--max-ram", str(config["max_ram_bytes"] + device.runtime_reserve_bytes)]
    if config.get("max_latency_ms") is not None:
        command += ["--max-latency", f"{config['max_latency_ms']:g}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode not in (0, 1):
        sys.exit(f"tinynas check failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return {"passed": done.returncode == 0, "command": " ".join(["tinynas", *command[3:]]),
            "verdict": json.loads(done.stdout)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-images", type=int, default=20_000)
    parser.add_argument("--search-epochs", type=float, default=2.0)
    parser.add_argument("--epochs", type=float, default=5.0, help="(re)training epochs")
    parser.add_argument("--alpha-rate", type=float, default=0.5, help="eta_a of the updates")
    parser.add_argument("--methods", nargs="+", default=["rarts", "darts1", "pdarts"],
                        choices=["rarts", "darts1", "pdarts"])
    parser.add_argument("--record", type=Path,
                        help="JSON lines, one row a (seed, method) [default: "
                             "benchmarks/data/refine/RUN-NAME.jsonl]")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/refine_widths.json"),
                        help="the whole comparison as one JSON document")
    parser.add_argument("--models", type=Path, default=Path("benchmarks/out/refine_widths"),
                        help="folder for the exported models, one subfolder a row")
    args = parser.parse_args()
    with RunStore.open(args.run, writable=False) as store:
        chosen, config = store.chosen(), store.config()
    arch, device = chosen.architecture, get_device(config["device"])
    record = args.record or Path("benchmarks/data/refine") / f"{args.run.name}.jsonl"
    # a kept row is reused only by a rerun of the same network under the same settings
    same = {"architecture": arch.content_hash,
            **{k: config.get(k) for k in ("device", "max_flash_bytes", "max_ram_bytes",
                                          "max_latency_ms")},
            **{k: getattr(args, k) for k in ("train_images", "search_epochs", "epochs",
                                             "alpha_rate")}}
    record.parent.mkdir(parents=True, exist_ok=True)
    kept = ([json.loads(line) for line in record.read_text().splitlines() if line.strip()]
            if record.exists() else [])
    ds = load_dataset(config["dataset"], config.get("data_dir"))
    x_test, y_test = torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test)
    recipe = TrainConfig(epochs=args.epochs, flip=ds.name == "fashion-mnist")
    rows = []

    def finish(seed: int, method: str, network: Any, trained: Any, calibration: np.ndarray,
               extra: dict[str, Any]) -> None:
        exported = export_model(network, trained.net, args.models / f"s{seed}-{method}",
                                dataset_name=ds.name, test_inputs=ds.x_test,
                                test_labels=ds.y_test, representative=calibration)
        row = {"seed": seed, "method": method, "settings": same,
               "test_accuracy": evaluate(trained.net, x_test, y_test),
               "int8_accuracy": exported.verification.int8_accuracy,
               "train_seconds": trained.train_seconds, **extra,
               "check": _check(exported.tflite_path, config)}
        rows.append(row)
        with record.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    for seed in args.seeds:
        x, y = _subset(ds.x_train, ds.y_train, args.train_images, seed)
        for method in ("unrefined", *args.methods):
            done = [r for r in kept if (r["seed"], r["method"]) == (seed, method)
                    and r.get("settings") == same]
            if done:
                rows.append(done[0])
                continue
            if method == "unrefined":
                trained = train(arch, x, y, x[:0], y[:0], recipe, seed)
                finish(seed, method, arch, trained, x[:512],
                       {"estimate": estimate(arch, device).to_dict()})
                continue
            t0 = time.perf_counter()
            refine_config = RefineConfig(method=method, epochs=args.search_epochs, seed=seed,
                                         rates=Rates(weights=0.05, alpha=args.alpha_rate))
            result = refine(arch, x, y, device, refine_config)
            search_s = time.perf_counter() - t0
            trained = train(result.refined, x, y, x[:0], y[:0], recipe, seed)
            finish(seed, method, result.refined, trained, x[:512], {
                "widths": result.widths, "narrowed": result.narrowed,
                "search_seconds": search_s, "layers": sum(len(b.layers)
                                                          for b in result.refined.blocks),
                "architecture": result.refined.to_dict(),
                "estimate": result.estimate.to_dict()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"run": str(args.run), "architecture": arch.to_dict(),
                                    "settings": same, "rows": rows}, indent=2))
    print(f"\nstart: {arch.to_json()}")
    print("\n| method | float test accuracy, mean | per seed | int8, mean | extra compute, s "
          "| tinynas check |")
    print("|---|---|---|---|---|---|")
    for method in ("unrefined", *args.methods):
        sel = [r for r in rows if r["method"] == method]
        accs = [r["test_accuracy"] for r in sel]
        int8 = [r["int8_accuracy"] or 0.0 for r in sel]
        extra = [r.get("search_seconds", 0.0) for r in sel]
        passed = sum(r["check"]["passed"] for r in sel)
        print(f"| {method} | {statistics.mean(accs):.2%} | "
              f"{', '.join(f'{a:.2%}' for a in accs)} | {statistics.mean(int8):.2%} | "
              f"{statistics.mean(extra):.0f} | {passed}/{len(sel)} pass |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
