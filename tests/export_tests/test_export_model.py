"""``export_model`` on a CNN trained on sklearn's digits: int8 accuracy, verification, card."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinynas.convert import litert_reference, measure_arena, run_tflm
from tinynas.devices import load_catalogue
from tinynas.estimators import file_op_costs, predict_latency
from tinynas.export import ExportError, ExportResult, export_model, quantization_note
from tinynas.export._card import CardInputs, model_card
from tinynas.space import Architecture
from tinynas.space.torch_builder import build_torch
from tinynas.tflite_file import read_tflite


def _quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """What a firmware does with the card's input quantisation (written out independently)."""
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


@pytest.mark.slow
def test_int8_accuracy_is_within_one_point_of_float(exported: ExportResult) -> None:
    accuracy = exported.card["accuracy"]
    assert accuracy["float"] >= 0.9  # the network did learn
    assert abs(accuracy["float"] - accuracy["int8"]) <= 0.01
    assert accuracy["drop_points"] == pytest.approx(100 * (accuracy["float"] - accuracy["int8"]))
    assert exported.card["quantization_note"] is None
    assert accuracy["test_samples"] == 397


@pytest.mark.slow
def test_card_accuracy_is_reproduced_from_the_files(exported: ExportResult, trained: Any) -> None:
    card, data = exported.card, trained.data
    model = exported.tflite_path.read_bytes()
    q = _quantize(data.x_test, card["input"]["scale"], card["input"]["zero_point"])
    tflm = run_tflm(model, q)
    assert np.mean(tflm.argmax(1) == data.y_test) == card["accuracy"]["int8"]
    reference = litert_reference(model, q)
    diff = np.abs(tflm.astype(int) - reference.astype(int))
    assert diff.max() <= 1 and diff.max() == card["verification"]["max_diff_lsb"]
    assert np.count_nonzero(diff) == card["verification"]["differing_outputs"]
    import torch

    with torch.no_grad():
        float_pred = trained.net(torch.from_numpy(data.x_test)).argmax(1).numpy()
    assert np.mean(float_pred == data.y_test) == card["accuracy"]["float"]
    agreement = np.mean(float_pred == tflm.argmax(1))
    assert agreement == card["accuracy"]["int8_float_argmax_agreement"] and agreement >= 0.97


@pytest.mark.slow
def test_model_is_full_integer_and_the_card_describes_it(
    exported: ExportResult, trained: Any
) -> None:
    card = json.loads(exported.card_path.read_text())
    assert card == exported.card
    model = read_tflite(exported.tflite_path)
    assert (model.input_dtype, model.output_dtype) == ("int8", "int8")
    assert card["input"]["shape"] == [1, 8, 8, 1] and card["output"]["shape"] == [1, 10]
    assert card["input"]["scale"] == model.input_scale
    assert card["input"]["zero_point"] == model.input_zero_point
    data = exported.tflite_path.read_bytes()
    assert card["flash_bytes"] == card["model"]["size_bytes"] == len(data)
    assert card["tflm_arena_bytes"] == measure_arena(data).total_bytes
    assert Architecture.from_dict(card["architecture"]) == trained.arch
    assert card["architecture_hash"] == trained.arch.content_hash
    assert card["dataset"] == "digits"
    assert card["name"] == f"digits_{trained.arch.content_hash[:8]}"
    assert card["c_array"]["data_symbol"] == f"{card['name']}_model_data"
    versions = card["tool_versions"]
    assert all(versions[k] for k in ("tinynas", "tensorflow", "torch", "tflite_micro", "numpy"))


@pytest.mark.slow
def test_card_predicts_latency_on_every_catalogue_board(exported: ExportResult) -> None:
    boards = exported.card["boards"]
    catalogue = load_catalogue()
    assert set(boards) == set(catalogue)
    model = read_tflite(exported.tflite_path)
    for name, device in catalogue.items():
        expected = predict_latency(file_op_costs(model), device)
        assert boards[name]["latency_ms"] == pytest.approx(expected.latency_ms, abs=1e-4)
        assert boards[name]["latency_source"] == device.latency.source
        flash_needed = model.size_bytes + device.firmware_reserve_bytes
        assert boards[name]["flash_needed_bytes"] == flash_needed
    assert "predicted" in exported.card["provenance"]["boards.*.latency_ms"]


@pytest.mark.slow
def test_quantization_note_when_int8_is_more_than_a_point_below_float(
    exported: ExportResult,
) -> None:
    model = read_tflite(exported.tflite_path)
    arena = measure_arena(exported.tflite_path.read_bytes())
    int8 = exported.verification.int8_accuracy
    inputs = CardInputs(_arch(exported), model, arena, exported.verification,
                        exported.c_array, "digits", int8 + 0.015, "test", ())  # fmt: skip
    card = model_card(inputs)
    assert card["accuracy"]["drop_points"] == pytest.approx(1.5)
    assert "1.50 points below float" in card["quantization_note"]
    assert card["provenance"]["accuracy.float"] == "given by the caller"
    close = model_card(replace(inputs, float_accuracy_given=int8 + 0.009))
    assert close["quantization_note"] is None


def _arch(exported: ExportResult) -> Architecture:
    return Architecture.from_dict(exported.card["architecture"])


def test_quantization_note_threshold() -> None:
    assert quantization_note(0.95, 0.94) is None  # exactly 1 point
    assert "2.00 points" in (quantization_note(0.95, 0.93) or "")
    assert quantization_note(None, 0.9) is None and quantization_note(0.9, None) is None


# ---- bad input, refused before any conversion ---------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "needs data to calibrate"),
        ({"test_inputs": np.zeros((4, 28, 28, 1))}, "shape [4, 28, 28, 1]"),
        ({"representative": np.zeros((0, 8, 8, 1))}, "N >= 1"),
        ({"test_inputs": np.zeros((4, 8, 8, 1)), "test_labels": np.zeros(3, int)},
         "4 class indices"),
        ({"test_inputs": np.zeros((2, 8, 8, 1)), "test_labels": np.array([0, 10])}, "0..9"),
        ({"test_inputs": np.zeros((2, 8, 8, 1)), "test_labels": np.array([0.5, 1.0])},
         "dtype float"),
        ({"test_labels": np.zeros(3, int), "representative": np.zeros((2, 8, 8, 1))},
         "without test inputs"),
    ],
)
def test_bad_data_is_refused(digits_architecture: Architecture, tmp_path: Path, kwargs: dict,
                             words: str) -> None:  # type: ignore[type-arg]  # fmt: skip
    arch, net = digits_architecture, build_torch(digits_architecture)
    with pytest.raises(ExportError) as caught:
        export_model(arch, net, tmp_path / "out", **kwargs)
    assert words in str(caught.value)
    assert not (tmp_path / "out").exists()  # nothing written
