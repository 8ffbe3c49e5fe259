"""The training and validation parts of a search: a seeded tenth of the training set held out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinynas.data._dataset import Dataset

VALIDATION_SHARE = 10  # one image in this many is held out for validation


@dataclass(frozen=True)
class SplitData:
    """Training images and the validation images held out of the same training set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int


def holdout_split(ds: Dataset, seed: int, train_subset: int | None = None) -> SplitData:
    """The first tenth of a seeded permutation of `ds`'s training set for validation, the rest
    for training; with `train_subset` (quick runs) at most that many training images and a
    fifth as many validation images."""
    order = np.random.default_rng(seed).permutation(len(ds.x_train))
    n_val = max(1, len(order) // VALIDATION_SHARE)
    val, train = order[:n_val], order[n_val:]
    if train_subset is not None:
        train = train[:train_subset]
        val = val[: max(1, train_subset // 5)]
    return SplitData(ds.x_train[train], ds.y_train[train], ds.x_train[val], ds.y_train[val],
                     ds.num_classes)
