"""``model_card.json``: what an exported model is, how well it does, and what it needs.

Values are plain JSON so that a firmware build or a CI script can read them directly; the
``provenance`` table says where each figure comes from (measured, predicted, estimated, or given
by the caller).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tinynas.convert import ArenaReport
from tinynas.devices import Device
from tinynas.estimators import estimate, file_op_costs, predict_latency
from tinynas.export._carray import ALIGNMENT_BYTES, CArray
from tinynas.export._verify import Verification
from tinynas.inspection import (
    ARENA_SOURCE,
    CORTEX_M_SOURCE,
    CortexMArena,
    cortex_m_estimate,
    fit_rows,
)
from tinynas.space import Architecture
from tinynas.tflite_file import TFLiteModel

CARD_SCHEMA = "tinynas.model_card/1"
NOTE_THRESHOLD_POINTS = 1.0  # a larger float -> int8 accuracy drop gets a quantization_note
_DISTRIBUTIONS = {  # card key -> distribution name(s) on the package index
    "tinynas": ("tinynas",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "torch": ("torch",),
    "tflite_micro": ("tflite-micro",),
    "ai_edge_litert": ("ai-edge-litert",),
    "numpy": ("numpy",),
}


@dataclass(frozen=True)
class CardInputs:
    """Everything the card is written from."""

    arch: Architecture
    model: TFLiteModel  # the written model.tflite, as read back
    arena: ArenaReport  # measured in TFLM
    verification: Verification
    c_array: CArray
    dataset_name: str | None
    float_accuracy_given: float | None  # the caller's figure, preferred over the recomputed one
    calibration: str  # what the converter calibrated on
    devices: tuple[Device, ...]  # the catalogue boards to predict latency for
    cortex_m: CortexMArena | None = None  # the model's Cortex-M arena; None: estimated here


def tool_versions() -> dict[str, str | None]:
    """Installed versions of the tools that made the model (None: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, names in _DISTRIBUTIONS.items():
        versions[key] = next((v for v in map(_version, names) if v is not None), None)
    return versions


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def quantization_note(float_accuracy: float | None, int8_accuracy: float | None) -> str | None:
    """A note when int8 accuracy is more than 1 point below float accuracy, else None."""
    if float_accuracy is None or int8_accuracy is None:
        return None
    drop = round(100 * (float_accuracy - int8_accuracy), 6)  # 0.95 - 0.94 is 1.0000000000000009
    if drop <= NOTE_THRESHOLD_POINTS:
        return None
    return (
        f"int8 accuracy {100 * int8_accuracy:.2f} % is {drop:.2f} points below float "
        f"{100 * float_accuracy:.2f} %: calibrate on a few hundred representative training "
        "inputs, or train with batch norm or quantisation-aware training"
    )


def _boards(inputs: CardInputs, cortex_m: CortexMArena) -> dict[str, dict[str, Any]]:
    """Per catalogue board: predicted latency and whether flash and RAM fit."""
    boards = {}
    for device in inputs.devices:
        latency = predict_latency(file_op_costs(inputs.model), device)
        flash, ram = fit_rows(inputs.model, inputs.arena, device, cortex_m)
        boards[device.name] = {
            "latency_ms": round(latency.latency_ms, 4),
            "latency_source": latency.source,
            "flash_needed_bytes": flash.value,
            "ram_needed_bytes": ram.value,
            "ram_basis": ram.basis,
            "fits": flash.ok and ram.ok,
        }
    return boards


def _accuracy(inputs: CardInputs) -> dict[str, Any]:
    v = inputs.verification
    given = inputs.float_accuracy_given
    float_accuracy = given if given is not None else v.float_accuracy
    drop = None
    if float_accuracy is not None and v.int8_accuracy is not None:
        drop = round(100 * (float_accuracy - v.int8_accuracy), 4)
    return {
        "float": float_accuracy,
        "int8": v.int8_accuracy,
        "drop_points": drop,
        "test_samples": v.samples if v.int8_accuracy is not None else 0,
        "int8_float_argmax_agreement": v.float_argmax_agreement,
    }


def _io(model: TFLiteModel) -> dict[str, Any]:
    return {
        "input": {"shape": list(model.input_shape), "dtype": model.input_dtype,
                  "scale": model.input_scale, "zero_point": model.input_zero_point,
                  "quantize": "q = clip(round(x / scale) + zero_point, -128, 127)"},
        "output": {"shape": list(model.output_shape), "dtype": model.output_dtype,
                   "scale": model.output_scale, "zero_point": model.output_zero_point,
                   "dequantize": "x = (q - zero_point) * scale"},
    }  # fmt: skip


def _provenance(inputs: CardInputs) -> dict[str, str]:
    given = inputs.float_accuracy_given is not None
    return {
        "model.size_bytes": "measured: size of model.tflite",
        "model.params, model.macs": "computed from the graph of model.tflite",
        "tflm_arena_bytes": ARENA_SOURCE,
        "tflm_arena_cortex_m_bytes": f"{CORTEX_M_SOURCE}; null: none for this model",
        "estimates": "estimated from the architecture alone (tinynas.estimators)",
        "boards.*.latency_ms": "predicted: each board's per-op cycle model (latency_source)",
        "boards.*.fits": "file size and TFLM arena plus each board's reserves (catalogue); the "
                         "arena is the Cortex-M estimate on TFLM + CMSIS-NN boards, else the x86 "
                         "measurement (ram_basis says which)",
        "accuracy.float": "given by the caller" if given
        else "measured: the float torch network on the test inputs",
        "accuracy.int8": "measured: the int8 model in the TFLM interpreter on the test inputs",
        "verification": "measured: TFLM against LiteRT's reference kernels, same int8 inputs",
    }


def model_card(inputs: CardInputs) -> dict[str, Any]:
    """The card as JSON-ready data."""
    arch, model, v = inputs.arch, inputs.model, inputs.verification
    accuracy = _accuracy(inputs)
    est = estimate(arch)
    cortex_m = inputs.cortex_m or cortex_m_estimate(model)
    return {
        "schema": CARD_SCHEMA,
        "name": inputs.c_array.macro_prefix.lower(),
        "architecture_hash": arch.content_hash,
        "architecture": json.loads(arch.to_json()),
        "dataset": inputs.dataset_name,
        "model": {"file": model.path.name, "size_bytes": model.size_bytes,
                  "sha256": hashlib.sha256(Path(model.path).read_bytes()).hexdigest(),
                  "params": model.params, "macs": model.macs, "op_counts": model.op_counts},
        **_io(model),
        "c_array": {"source": inputs.c_array.source_path.name,
                    "header": inputs.c_array.header_path.name,
                    "data_symbol": inputs.c_array.data_symbol,
                    "length_symbol": inputs.c_array.length_symbol,
                    "alignment_bytes": ALIGNMENT_BYTES},
        "flash_bytes": model.size_bytes,
        "tflm_arena_bytes": inputs.arena.total_bytes,
        "tflm_arena_cortex_m_bytes": cortex_m.total_bytes,
        "estimates": {"flash_bytes": est.flash_bytes, "arena_bytes": est.arena_bytes},
        "accuracy": accuracy,
        "quantization_note": quantization_note(accuracy["float"], accuracy["int8"]),
        "calibration": inputs.calibration,
        "verification": v.to_dict(),
        "boards": _boards(inputs, cortex_m),
        "tool_versions": tool_versions(),
        "provenance": _provenance(inputs),
    }  # fmt: skip
