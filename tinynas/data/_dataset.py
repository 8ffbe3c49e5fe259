"""The ``Dataset`` record every loader returns, and the conversions into it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinynas.data._errors import DatasetError
from tinynas.data._split import Samples, split, stratified_take

# A class count beyond any microcontroller classifier (ten times ImageNet's 1,000); the same
# cap as tinynas.space.MAX_CLASSES. Labels are checked against it before names are made.
MAX_CLASSES = 10_000


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset held in memory, already split into train and test.

    Inputs are float32. Images are channels-last ``(N, H, W, C)`` with pixels in [0, 1]
    (Fashion-MNIST ``(N, 28, 28, 1)``, digits ``(N, 8, 8, 1)``); feature arrays of the user's
    own data stay ``(N, L)`` or ``(N, L, C)``. Labels are int64 class indices into
    ``class_names``. The constructor converts dtypes and checks shapes and labels.
    """

    name: str  # "fashion-mnist", "digits", or the user's file or folder name
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...]
    source: str = ""  # where the arrays were read from, e.g. a folder or "keras download"

    def __post_init__(self) -> None:
        for key in ("x_train", "x_test"):
            object.__setattr__(self, key, np.asarray(getattr(self, key), dtype=np.float32))
        for key in ("y_train", "y_test"):
            object.__setattr__(self, key, _labels(self.name, key, getattr(self, key)))
        if len(self.class_names) > MAX_CLASSES:
            raise DatasetError(
                f"dataset '{self.name}' has {len(self.class_names):,} classes; at most "
                f"{MAX_CLASSES:,} (no microcontroller classifier has more)"
            )
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        _check_part(self, "train")
        _check_part(self, "test")
        if self.x_test.shape[1:] != self.input_shape:
            raise DatasetError(
                f"dataset '{self.name}': x_test samples have shape {self.x_test.shape[1:]}, "
                f"x_train samples {self.input_shape}; give both parts the same sample shape"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(28, 28, 1)``."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """Number of classes (the length of ``class_names``)."""
        return len(self.class_names)

    @property
    def train(self) -> Samples:
        """The training part as ``Samples``."""
        return Samples(self.x_train, self.y_train)

    @property
    def test(self) -> Samples:
        """The test part as ``Samples``."""
        return Samples(self.x_test, self.y_test)

    def validation_split(self, fraction: float = 0.1, seed: int = 0) -> tuple[Samples, Samples]:
        """Hold out part of the training set for validation; the test set is not touched.

        Args:
            fraction: Share of the training samples held out, strictly between 0 and 1.
            seed: Seed of the stratified random choice.

        Returns:
            ``(train, validation)`` samples.
        """
        return split(self.x_train, self.y_train, fraction, seed)

    def subset(self, n: int, seed: int = 0, n_test: int | None = None) -> Dataset:
        """A smaller dataset for quick runs: ``n`` training samples, drawn per class.

        Args:
            n: Training samples to keep; all of them when ``n`` is at least their number.
            seed: Seed of the stratified random choice.
            n_test: Test samples to keep; by default the test set shrinks in the same ratio.

        Returns:
            A new ``Dataset`` with the same name, classes and source.
        """
        if n < 1 or (n_test is not None and n_test < 1):
            raise DatasetError(f"subset sizes must be at least 1, got n={n}, n_test={n_test}")
        n_train = min(n, len(self.y_train))
        if n_test is None:
            n_test = max(1, round(n_train * len(self.y_test) / len(self.y_train)))
        rng = np.random.default_rng(seed)
        train = stratified_take(self.y_train, n_train, rng)
        test = stratified_take(self.y_test, min(n_test, len(self.y_test)), rng)
        return Dataset(
            self.name, self.x_train[train], self.y_train[train], self.x_test[test],
            self.y_test[test], self.class_names, self.source,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input_shape={self.input_shape}, num_classes={self.num_classes})"
        )


def _labels(name: str, key: str, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise DatasetError(
            f"dataset '{name}': {key} has shape {y.shape} and dtype {y.dtype}; "
            "labels must be one integer class index per sample"
        )
    return y.astype(np.int64, copy=False)


def _check_part(dataset: Dataset, part: str) -> None:
    x, y = getattr(dataset, f"x_{part}"), getattr(dataset, f"y_{part}")
    if x.ndim < 2 or len(x) != len(y) or len(y) == 0:
        raise DatasetError(
            f"dataset '{dataset.name}': x_{part} has shape {x.shape} for {len(y)} labels; "
            f"give x_{part} one row per label (N, ...) and at least one sample"
        )
    finite = np.isfinite(x)
    if not finite.all():  # NaN or inf would train to NaN and crash the int8 converter
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise DatasetError(
            f"dataset '{dataset.name}': x_{part}{list(where)} is {x[where]}, and "
            f"{int((~finite).sum())} value(s) in all are not finite; replace or drop them"
        )
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= dataset.num_classes:
        raise DatasetError(
            f"dataset '{dataset.name}': y_{part} holds labels {low}..{high} but there are "
            f"{dataset.num_classes} class names; labels must be 0..{dataset.num_classes - 1}"
        )


def images_from_uint8(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 as float32 in [0, 1], with a channel axis added to ``(N, H, W)``.

    Args:
        images: uint8 array ``(N, H, W)`` or ``(N, H, W, C)``.

    Returns:
        float32 array ``(N, H, W, C)``.
    """
    scaled = np.divide(images, np.float32(255.0), dtype=np.float32)
    return scaled[..., np.newaxis] if scaled.ndim == 3 else scaled


def check_label_cap(where: str, labels: np.ndarray) -> None:
    """Raises :class:`DatasetError` when a label is beyond ``MAX_CLASSES - 1`` (a class count
    derived from the largest label would be more than ``MAX_CLASSES``)."""
    if labels.size and labels.max() >= MAX_CLASSES:
        raise DatasetError(
            f"{where} holds label {_label(labels.max())}; labels are class indices 0.."
            f"{MAX_CLASSES - 1:,} (at most {MAX_CLASSES:,} classes): renumber the classes "
            "from 0"
        )


def _label(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return f"{int(number):,}" if abs(number) < 1e18 else f"{number:g}"


def class_names_for(labels: np.ndarray) -> tuple[str, ...]:
    """Class names ``"0"``, ``"1"``, ... up to the largest label (at most ``MAX_CLASSES``)."""
    check_label_cap("the labels", labels)
    return tuple(str(i) for i in range(int(labels.max()) + 1))
