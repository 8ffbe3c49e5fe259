"""The handwritten digits that scikit-learn ships: 1797 grayscale 8x8 images, 10 classes.

The copy of the UCI "Optical Recognition of Handwritten Digits" test set bundled with
scikit-learn (``sklearn.datasets.load_digits``), so it loads without a network. Pixels are
counts 0..16; they are scaled to [0, 1]. There is no official split: 20 % is held out as the
test set, stratified and seeded.
"""

from __future__ import annotations

import numpy as np

from tinynas.data._dataset import Dataset
from tinynas.data._split import split

NAME = "digits"
PIXEL_MAX = 16.0  # each pixel counts the set bits of a 4x4 block of the 32x32 original
TEST_FRACTION = 0.2


def load_digits(seed: int = 0) -> Dataset:
    """Load scikit-learn's digits.

    Args:
        seed: Seed of the 80/20 train/test split.

    Returns:
        Images ``(8, 8, 1)`` in [0, 1]: 1438 for training and 359 for testing.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = (np.asarray(bunch.images, dtype=np.float32) / np.float32(PIXEL_MAX))[..., None]
    train, test = split(images, np.asarray(bunch.target, dtype=np.int64), TEST_FRACTION, seed)
    names = tuple(str(name) for name in bunch.target_names)
    return Dataset(NAME, train.x, train.y, test.x, test.y, names, "scikit-learn load_digits")
