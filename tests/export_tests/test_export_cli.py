"""``tinynas export``: from an architecture JSON plus torch weights, and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_cli

from tinynas.export import ExportResult, load_run
from tinynas.space import Architecture
from tinynas.space.torch_builder import build_torch
from tinynas.testing.cli import assert_one_line_error as _one_line_error


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli("export", *args)




@pytest.fixture(scope="module")
def saved(trained: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trained digits model as the files a user would have: arch.json, weights.pt, test.npz."""
    import torch

    folder = tmp_path_factory.mktemp("saved")
    (folder / "arch.json").write_text(trained.arch.to_json())
    torch.save(trained.net.state_dict(), folder / "weights.pt")
    data = trained.data
    np.savez(folder / "test.npz", x=data.x_test, y=data.y_test, x_calibration=data.x_train[:300])
    return {"dir": folder, "arch": folder / "arch.json", "weights": folder / "weights.pt",
            "data": folder / "test.npz"}  # fmt: skip


@pytest.fixture(scope="module")
def untrained(
    digits_architecture: Architecture, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The same files for a freshly initialised network and random data (no training)."""
    import torch

    folder = tmp_path_factory.mktemp("untrained")
    (folder / "arch.json").write_text(digits_architecture.to_json())
    torch.save(build_torch(digits_architecture).state_dict(), folder / "weights.pt")
    rng = np.random.default_rng(0)
    np.savez(folder / "test.npz", x=rng.random((16, 8, 8, 1), np.float32),
             y=rng.integers(0, 10, 16))  # fmt: skip
    return {"arch": folder / "arch.json", "weights": folder / "weights.pt",
            "data": folder / "test.npz"}  # fmt: skip


@pytest.mark.slow
@pytest.mark.cli
def test_export_from_files_matches_the_library(
    saved: dict[str, Path], exported: ExportResult, tmp_path: Path
) -> None:
    out = tmp_path / "fw"
    result = _cli("--arch", saved["arch"], "--weights", saved["weights"], "--data", saved["data"],
                  "--dataset-name", "digits", "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "model.tflite", "model_card.json", "model_data.cc", "model_data.h"]
    card = json.loads((out / "model_card.json").read_text())
    assert card["accuracy"] == exported.card["accuracy"]
    assert (out / "model.tflite").read_bytes() == exported.tflite_path.read_bytes()
    assert f"int8 {100 * card['accuracy']['int8']:.2f} %" in result.stdout
    assert card["c_array"]["data_symbol"] + "[]" in result.stdout


def test_load_run_reads_the_chosen_model(untrained: dict[str, Path], tmp_path: Path) -> None:
    import torch

    run = tmp_path / "run"  # what a finished search leaves beside its run.db
    run.mkdir()
    (run / "run.db").write_bytes(b"")
    shutil.copy(untrained["arch"], run / "architecture.json")
    shutil.copy(untrained["weights"], run / "weights.pt")
    arch, net = load_run(run)
    assert arch == Architecture.from_json(untrained["arch"].read_text())

    state = torch.load(untrained["weights"], weights_only=True)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())


@pytest.mark.cli
def test_unfinished_or_unreadable_run_is_a_clear_error(untrained: dict[str, Path],
                                                        tmp_path: Path) -> None:
    from tinynas.space import Architecture
    from tinynas.store import CandidateStatus, RunStore

    run = tmp_path / "runs" / "r1"
    data = ("--data", untrained["data"])
    with RunStore.create(run, {"device": "nucleo-l4r5zi"}) as store:
        arch = Architecture.from_json(Path(untrained["arch"]).read_text())
        record = store.add_candidate(arch, CandidateStatus.SCORED)
    _one_line_error(_cli(run, *data), "architecture.json and weights.pt", "--candidate")
    _one_line_error(_cli(run, "--candidate", str(record.id), *data), "no trained weights")
    _one_line_error(_cli(run, "--candidate", "7", *data), "no candidate 7")
    _one_line_error(_cli(run, "--candidate", "x", *data), "not an id")
    _one_line_error(_cli(run, "--arch", untrained["arch"], *data), "not both")
    broken = tmp_path / "runs" / "r2"
    broken.mkdir()
    (broken / "run.db").write_bytes(b"garbage, not a database at all")
    _one_line_error(_cli(broken, "--candidate", "1", *data), "not a tinynas run store")


@pytest.mark.cli
def test_nothing_to_export(tmp_path: Path) -> None:
    _one_line_error(_cli("--out", tmp_path), "nothing to export", "--arch", "--weights")
    _one_line_error(_cli("--candidate", "3"), "--candidate needs a RUN folder")


@pytest.mark.cli
def test_weights_of_another_architecture(untrained: dict[str, Path], tmp_path: Path) -> None:
    import torch

    arch = Architecture.from_json(untrained["arch"].read_text())
    other = Architecture(arch.input_shape, arch.num_classes, arch.blocks, arch.pooling, (48,))
    torch.save(build_torch(other).state_dict(), tmp_path / "other.pt")
    result = _cli("--arch", untrained["arch"], "--weights", tmp_path / "other.pt", "--data",
                  untrained["data"])  # fmt: skip
    _one_line_error(result, "do not belong to architecture", arch.content_hash)


@pytest.mark.cli
def test_data_errors(untrained: dict[str, Path], tmp_path: Path) -> None:
    args = ("--arch", untrained["arch"], "--weights", untrained["weights"])
    _one_line_error(_cli(*args), "--data FILE.npz")
    np.savez(tmp_path / "nox.npz", inputs=np.zeros((2, 8, 8, 1)))
    _one_line_error(_cli(*args, "--data", tmp_path / "nox.npz"), "no array 'x'", "inputs")
    (tmp_path / "text.npz").write_text("x,y\n1,2\n")
    _one_line_error(_cli(*args, "--data", tmp_path / "text.npz"), "not an .npz archive")


@pytest.mark.cli
def test_non_finite_data_and_weights_are_refused_before_conversion(
    untrained: dict[str, Path], tmp_path: Path,
) -> None:
    import torch

    args = ("--arch", untrained["arch"], "--weights", untrained["weights"])
    x = np.zeros((4, 8, 8, 1), np.float32)
    x[2, 3, 1, 0] = np.inf
    np.savez(tmp_path / "inf.npz", x=x, y=np.zeros(4, np.int64))
    _one_line_error(_cli(*args, "--data", tmp_path / "inf.npz", "--out", tmp_path / "a"),
                    "inf at [2, 3, 1, 0]", "1 non-finite value(s)")
    np.savez(tmp_path / "text.npz", x=np.array(["a", "b"]))
    _one_line_error(_cli(*args, "--data", tmp_path / "text.npz", "--out", tmp_path / "b"),
                    "are not numbers")
    state = torch.load(untrained["weights"], weights_only=True)
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name].view(-1)[0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    _one_line_error(_cli("--arch", untrained["arch"], "--weights", tmp_path / "nan.pt",
                         "--data", untrained["data"], "--out", tmp_path / "c"),
                    f"non-finite values in {name}")
    assert not any((tmp_path / d).exists() for d in "abc")
