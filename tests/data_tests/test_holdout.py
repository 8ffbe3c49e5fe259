"""The search's hold-out split: a seeded tenth of the training set for validation."""

from __future__ import annotations

import numpy as np

from tinynas.data import Dataset, holdout_split, load_dataset

DIGITS = load_dataset("digits")


def test_a_tenth_is_held_out_and_the_parts_do_not_overlap() -> None:
    n = 1000
    x = np.arange(n, dtype=np.float32).reshape(n, 1)  # each sample's value is its index
    y = np.arange(n) % 10
    ds = Dataset("indices", x, y, x[:10], y[:10], tuple(str(k) for k in range(10)))
    split = holdout_split(ds, seed=0)
    train, val = split.x_train[:, 0].astype(int), split.x_val[:, 0].astype(int)
    assert (len(val), len(train)) == (100, 900) and split.num_classes == 10
    assert sorted(np.concatenate([train, val])) == list(range(n))  # every sample, once
    assert np.array_equal(split.y_train, y[train]) and np.array_equal(split.y_val, y[val])


def test_the_split_is_seeded() -> None:
    a, b = holdout_split(DIGITS, seed=3), holdout_split(DIGITS, seed=3)
    assert np.array_equal(a.y_val, b.y_val) and np.array_equal(a.x_train, b.x_train)
    assert not np.array_equal(holdout_split(DIGITS, seed=4).y_val, a.y_val)


def test_a_subset_caps_training_and_validation() -> None:
    split = holdout_split(DIGITS, seed=0, train_subset=300)
    assert (len(split.x_train), len(split.x_val)) == (300, 60)
