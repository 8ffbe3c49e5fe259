"""Fashion-MNIST: the real Debian copy, the search order, and the error naming every place."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from data_helpers import write_fashion, write_idx

from tinynas.data import DatasetError, _fashion, load_dataset

DEBIAN = _fashion.DEBIAN_DIR


@pytest.mark.skipif(
    not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_real_debian_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYNAS_DATA", raising=False)
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", download=False)
    load_s = time.perf_counter() - start
    assert data.source == str(DEBIAN)
    assert data.x_train.shape == (60000, 28, 28, 1) and data.x_test.shape == (10000, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert 0.2 < float(data.x_train.mean()) < 0.4  # mostly dark background, ~0.29
    assert data.num_classes == 10 and data.class_names[9] == "Ankle boot"
    assert load_s < 5.0, f"loading took {load_s:.1f} s"


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir_files_are_read_exactly(
    tmp_path: Path, no_system_fashion: Path, gz: bool
) -> None:
    arrays = write_fashion(tmp_path / "fm", n_train=20, n_test=10, gz=gz)
    data = load_dataset("fmnist", data_dir=tmp_path / "fm", download=False)
    assert data.source == str(tmp_path / "fm")
    np.testing.assert_array_equal(data.x_train[..., 0] * 255, arrays["x_train"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    assert data.input_shape == (28, 28, 1) and len(data.y_train) == 20


def test_env_var_is_honoured_and_subfolder_found(
    tmp_path: Path, no_system_fashion: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fashion(tmp_path / "root" / "fashion-mnist", n_train=30, n_test=10)
    folders = [str(tmp_path / "empty"), str(tmp_path / "root")]
    monkeypatch.setenv("TINYNAS_DATA", os.pathsep.join(folders))
    data = load_dataset("fashion_mnist", download=False)
    assert data.source == str(tmp_path / "root" / "fashion-mnist")
    assert len(data.y_train) == 30


def test_data_dir_comes_before_env_var(
    tmp_path: Path, no_system_fashion: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fashion(tmp_path / "arg", n_train=20, n_test=10)
    write_fashion(tmp_path / "env", n_train=40, n_test=10)
    monkeypatch.setenv("TINYNAS_DATA", str(tmp_path / "env"))
    assert len(load_dataset("fashion-mnist", data_dir=tmp_path / "arg").y_train) == 20


def test_local_copy_means_no_download(
    tmp_path: Path, no_system_fashion: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network() -> dict:
        raise AssertionError("the keras download must not be tried when a local copy exists")

    monkeypatch.setattr(_fashion, "_download_keras", no_network)
    write_fashion(tmp_path / "fm", n_train=20, n_test=10)
    assert load_dataset("fashion-mnist", data_dir=tmp_path / "fm").source == str(tmp_path / "fm")


def test_keras_download_used_when_nothing_local(
    tmp_path: Path, no_system_fashion: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloaded = {
        "x_train": np.full((10, 28, 28), 51, np.uint8),
        "y_train": np.arange(10, dtype=np.uint8),
        "x_test": np.zeros((10, 28, 28), np.uint8),
        "y_test": np.arange(10, dtype=np.uint8),
    }  # the network cannot exist here: stand in for what keras returns
    monkeypatch.setattr(_fashion, "_download_keras", lambda: downloaded)
    (tmp_path / "nothing").mkdir()  # a --data-dir without the files
    data = load_dataset("fashion-mnist", data_dir=tmp_path / "nothing")
    assert data.source == "keras download"
    assert data.x_train.max() == pytest.approx(0.2)


def test_not_found_names_every_place(
    tmp_path: Path, no_system_fashion: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline() -> dict:  # what keras raises when a URL fetch fails
        raise Exception("URL fetch failure on https://x/train-labels-idx1-ubyte.gz: None")

    monkeypatch.setattr(_fashion, "_download_keras", offline)
    partial = tmp_path / "partial"
    write_fashion(partial)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("TINYNAS_DATA", str(tmp_path / "env-dir"))
    with pytest.raises(DatasetError) as info:
        load_dataset("fashion-mnist", data_dir=partial)
    message = str(info.value)
    for place in (partial, tmp_path / "env-dir", no_system_fashion):
        assert str(place) in message
    assert "lacks t10k-labels-idx1-ubyte" in message
    assert "keras download: failed (Exception: URL fetch failure" in message
    assert "dataset-fashion-mnist" in message and "--data-dir" in message
    assert "\n" not in message


def test_download_disabled_is_said(tmp_path: Path, no_system_fashion: Path) -> None:
    with pytest.raises(DatasetError, match="keras download: not tried"):
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)


def test_corrupt_local_file_is_an_error_not_a_fallback(
    tmp_path: Path, no_system_fashion: Path
) -> None:
    write_fashion(tmp_path / "fm")
    (tmp_path / "fm" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "fm", download=False)


def test_wrong_image_shape_is_rejected(tmp_path: Path, no_system_fashion: Path) -> None:
    write_fashion(tmp_path / "fm")
    write_idx(tmp_path / "fm" / "t10k-images-idx3-ubyte.gz", np.zeros((10, 8, 8), np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-images.*\(10, 8, 8\).*not Fashion-MNIST"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "fm", download=False)
