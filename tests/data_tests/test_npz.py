"""The user's .npz files: both key layouts, pixel scaling, feature arrays, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinynas.data import DatasetError, load_dataset

RNG = np.random.default_rng(7)


def test_split_layout_keeps_the_users_split(tmp_path: Path) -> None:
    x_train = RNG.integers(0, 256, (12, 6, 5), dtype=np.uint8)
    x_test = RNG.integers(0, 256, (4, 6, 5), dtype=np.uint8)
    y_train, y_test = np.arange(12) % 3, np.array([2, 1, 0, 2])
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = load_dataset(path)
    assert data.name == "mine.npz" and data.source == str(path)
    assert data.input_shape == (6, 5, 1) and data.num_classes == 3
    np.testing.assert_allclose(data.x_train[..., 0], x_train / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert data.class_names == ("0", "1", "2")


def test_x_y_layout_is_split_80_20_by_seed(tmp_path: Path) -> None:
    x = np.arange(50 * 4 * 4 * 3, dtype=np.float32).reshape(50, 4, 4, 3) / (50 * 48)
    y = np.repeat([0, 1], 25)
    path = tmp_path / "xy.npz"
    np.savez(path, x=x, y=y, class_names=np.array(["cat", "dog"]))
    data, again = load_dataset(path), load_dataset(str(path))
    assert (len(data.y_train), len(data.y_test)) == (40, 10)
    assert np.bincount(data.y_test).tolist() == [5, 5]
    np.testing.assert_array_equal(data.x_test, again.x_test)
    rows = {r.tobytes() for r in np.concatenate([data.x_train, data.x_test])}
    assert rows == {r.tobytes() for r in x}  # a partition: nothing lost or repeated
    assert data.class_names == ("cat", "dog")


@pytest.mark.parametrize("shape", [(30, 40), (30, 40, 3)])
def test_float_features_are_kept_as_they_are(tmp_path: Path, shape: tuple[int, ...]) -> None:
    x = RNG.normal(0.0, 3.0, shape).astype(np.float64)  # e.g. accelerometer windows
    y = np.eye(3)[np.arange(30) % 3]  # one-hot rows
    np.savez(tmp_path / "f.npz", x=x, y=y)
    data = load_dataset(tmp_path / "f.npz")
    assert data.input_shape == shape[1:] and data.x_train.dtype == np.float32
    assert data.x_train.min() < 0.0  # features are not rescaled
    assert np.bincount(np.concatenate([data.y_train, data.y_test])).tolist() == [10, 10, 10]


def test_missing_keys_are_named(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 2)), labels=np.zeros(4))
    with pytest.raises(DatasetError, match=r"\['images', 'labels'\].*x_train, y_train"):
        load_dataset(tmp_path / "bad.npz")


def test_float_images_outside_unit_range_are_rejected(tmp_path: Path) -> None:
    np.savez(tmp_path / "raw.npz", x=np.full((10, 4, 4, 1), 200.0), y=np.arange(10) % 2)
    with pytest.raises(DatasetError, match="range 200..200; scale them to"):
        load_dataset(tmp_path / "raw.npz")


def test_fractional_labels_are_rejected(tmp_path: Path) -> None:
    np.savez(tmp_path / "reg.npz", x=np.zeros((10, 3)), y=np.linspace(0, 1, 10))
    with pytest.raises(DatasetError, match="labels must be class indices"):
        load_dataset(tmp_path / "reg.npz")


def test_not_an_npz_file(tmp_path: Path) -> None:
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="cannot read .*broken.npz as .npz"):
        load_dataset(tmp_path / "broken.npz")
