"""The Dataset record: checks on construction, validation split, subset, stratified split."""

from __future__ import annotations

import numpy as np
import pytest

from tinynas.data import Dataset, DatasetError, Samples, split


def make(n_train: int = 100, n_test: int = 40) -> Dataset:
    y_train = np.repeat([0, 1, 2, 3], [40, 30, 20, 10])[:n_train]
    x_train = np.arange(n_train, dtype=np.float32)[:, None] / n_train
    y_test = np.arange(n_test) % 4
    return Dataset("toy", x_train, y_train, np.zeros((n_test, 1)), y_test, ("a", "b", "c", "d"))


def test_properties_and_dtypes() -> None:
    data = make()
    assert data.input_shape == (1,) and data.num_classes == 4
    assert data.x_test.dtype == np.float32 and data.y_test.dtype == np.int64
    x, y = data.train
    assert len(data.train) == 100 and x is data.x_train and y is data.y_train
    assert repr(data) == "Dataset('toy', train=100, test=40, input_shape=(1,), num_classes=4)"


def test_validation_split_is_stratified_exact_and_disjoint() -> None:
    data = make()
    train, val = data.validation_split(0.2, seed=5)
    assert (len(train), len(val)) == (80, 20)
    assert np.bincount(val.y).tolist() == [8, 6, 4, 2]
    seen = np.concatenate([train.x[:, 0], val.x[:, 0]])
    assert sorted(seen.tolist()) == sorted(data.x_train[:, 0].tolist())
    again = data.validation_split(0.2, seed=5)[1]
    np.testing.assert_array_equal(val.x, again.x)


def test_split_sizes_add_up_with_remainders() -> None:
    y = np.repeat([0, 1, 2], [7, 7, 7])
    rest, held = split(np.arange(21), y, 0.3, seed=0)
    assert isinstance(held, Samples) and len(held) == round(0.3 * 21) == 6
    assert len(rest) == 15 and set(rest.x.tolist()).isdisjoint(held.x.tolist())
    assert np.bincount(held.y, minlength=3).tolist() == [2, 2, 2]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.001])
def test_bad_fractions(fraction: float) -> None:
    with pytest.raises(DatasetError, match="fraction|one part would be empty"):
        make().validation_split(fraction)


def test_subset_keeps_class_shares_and_scales_test() -> None:
    data = make()
    small = data.subset(10, seed=1)
    assert np.bincount(small.y_train).tolist() == [4, 3, 2, 1]
    assert len(small.y_test) == 4 and small.class_names == data.class_names
    assert data.subset(1000).x_train.shape == data.x_train.shape
    assert len(data.subset(10, n_test=7).y_test) == 7
    with pytest.raises(DatasetError, match="at least 1"):
        data.subset(0)


def test_construction_checks() -> None:
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(DatasetError, match="labels 0..2 but there are 2 class names"):
        Dataset("bad", x, np.array([0, 1, 2, 1]), x, y, ("a", "b"))
    with pytest.raises(DatasetError, match=r"x_train has shape \(3, 2\) for 4 labels"):
        Dataset("bad", x[:3], y, x, y, ("a", "b"))
    with pytest.raises(DatasetError, match="same sample shape"):
        Dataset("bad", x, y, np.zeros((4, 3)), y, ("a", "b"))
    with pytest.raises(DatasetError, match="one integer class index"):
        Dataset("bad", x, y.astype(float), x, y, ("a", "b"))


@pytest.mark.parametrize(("part", "bad"),
                         [("train", np.nan), ("test", np.inf), ("train", -np.inf)])
def test_non_finite_inputs_are_refused_naming_the_array_and_index(part: str, bad: float) -> None:
    x = np.zeros((20, 2, 3), np.float32)
    x[7, 1, 2] = bad
    clean = np.zeros((20, 2, 3), np.float32)
    y = np.arange(20) % 2
    x_train, x_test = (x, clean) if part == "train" else (clean, x)
    with pytest.raises(DatasetError, match=rf"x_{part}\[7, 1, 2\] is {bad}, and 1 value\(s\) in "
                                           "all are not finite; replace or drop them"):
        Dataset("bad", x_train, y, x_test, y, ("a", "b"))
