"""scikit-learn's digits: shapes, scaling, a stratified split reproducible from its seed."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as sklearn_digits

from tinynas.data import load_dataset


def test_shapes_and_scaling() -> None:
    data = load_dataset("digits")
    assert data.input_shape == (8, 8, 1) and data.num_classes == 10
    assert len(data.y_train) + len(data.y_test) == 1797
    assert len(data.y_test) == round(0.2 * 1797)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert data.class_names == tuple("0123456789")


def _sorted_rows(images: np.ndarray) -> list[bytes]:
    return sorted(image.tobytes() for image in np.rint(images).astype(np.uint8))


def test_split_is_a_partition_of_the_original_images() -> None:
    original = sklearn_digits()
    data = load_dataset("digits")
    both = np.concatenate([data.x_train, data.x_test])[..., 0] * 16
    assert _sorted_rows(both) == _sorted_rows(original.images)
    counts = np.bincount(data.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: 20 % of ~180 per class


def test_split_is_deterministic_per_seed() -> None:
    first, again = load_dataset("digits"), load_dataset("digits")
    other = load_dataset("digits", seed=1)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert not np.array_equal(first.x_test, other.x_test)
