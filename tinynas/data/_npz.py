"""The user's own data as a ``.npz`` file of numpy arrays.

Keys: either ``x_train, y_train, x_test, y_test``, or ``x, y`` (then 20 % is held out as the
test set, stratified and seeded); optionally ``class_names`` (strings). Labels are integer
class indices from 0, or one-hot rows. Inputs, by dtype and rank:

- ``uint8`` are pixels 0..255, scaled to [0, 1]; ``(N, H, W)`` gets a channel axis.
- other dtypes of rank 4 are images ``(N, H, W, C)`` already in [0, 1].
- other dtypes of rank 2 or 3 are features ``(N, L)`` or ``(N, L, C)``, kept as they are.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from tinynas.data._dataset import (
    MAX_CLASSES,
    Dataset,
    check_label_cap,
    class_names_for,
    images_from_uint8,
)
from tinynas.data._errors import DatasetError
from tinynas.data._split import split

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
TEST_FRACTION = 0.2
# The arrays of an .npz are refused above this size (their headers are read first, so a small
# compressed file that claims huge arrays allocates nothing): a microcontroller dataset is far
# smaller (Fashion-MNIST is 55 MB) and its float32 copy takes four times as much memory again.
MAX_ARRAY_BYTES = 4 * 1024**3


def load_npz(path: str | Path, seed: int = 0) -> Dataset:
    """Load a dataset from a ``.npz`` file.

    Args:
        path: The file.
        seed: Seed of the 80/20 split when the file holds only ``x`` and ``y``.

    Returns:
        The dataset, named after the file.

    Raises:
        DatasetError: When the file cannot be read or its arrays do not fit the layout above.
    """
    path = Path(path)
    arrays = _read(path)
    x_train, y_train, x_test, y_test = _parts(path, arrays, seed)
    for key, x in (("x_train", x_train), ("x_test", x_test)):
        if x.ndim >= 1 and len(x) == 0:
            raise DatasetError(
                f"{path}: {key} holds no samples; give both parts samples, or save only x and "
                f"y and {TEST_FRACTION:.0%} is held out as the test set"
            )
    x_train, x_test = _inputs(path, "x_train", x_train), _inputs(path, "x_test", x_test)
    y_train, y_test = _labels(path, "y_train", y_train), _labels(path, "y_test", y_test)
    names = _class_names(path, arrays, np.concatenate([y_train, y_test]))
    return Dataset(path.name, x_train, y_train, x_test, y_test, names, str(path))


def _parts(path: Path, arrays: dict[str, np.ndarray], seed: int) -> list[np.ndarray]:
    if all(key in arrays for key in SPLIT_KEYS):
        return [arrays[key] for key in SPLIT_KEYS]
    if "x" not in arrays or "y" not in arrays:
        raise DatasetError(
            f"{path} holds arrays {sorted(arrays)}; it needs x_train, y_train, x_test, y_test "
            "or x, y (save them with numpy.savez)"
        )
    x, y = arrays["x"], _labels(path, "y", arrays["y"])
    if x.ndim == 0 or len(x) != len(y):
        raise DatasetError(f"{path}: x has shape {x.shape} for {len(y)} labels; give one "
                           "sample per label")  # fmt: skip
    train, test = split(x, y, TEST_FRACTION, seed)
    return [train.x, train.y, test.x, test.y]


def _read(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"cannot read {path} as .npz ({_not_zip(path)}); write it with "
                           "numpy.savez(path, x=..., y=...)")  # fmt: skip
    try:
        _check_sizes(path)
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DatasetError(
            f"cannot read {path} as .npz ({reason}); write it with numpy.savez, without "
            "object arrays"
        ) from e


def _not_zip(path: Path) -> str:
    try:
        with path.open("rb") as f:
            single = f.read(6) == b"\x93NUMPY"
    except OSError as e:
        return e.strerror or str(e)
    return ("it holds a single array, as numpy.save writes, not an archive of named arrays"
            if single else "it is not a zip archive of arrays")  # fmt: skip


def _check_sizes(path: Path) -> None:
    """Refuses an archive whose arrays claim more than ``MAX_ARRAY_BYTES`` in all, from the
    .npy headers alone (nothing is decompressed)."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:  # a newer format: np.load checks it
                    continue
            total += math.prod(shape) * dtype.itemsize
            if total > MAX_ARRAY_BYTES:
                raise DatasetError(
                    f"{path}: its arrays hold more than {MAX_ARRAY_BYTES // 1024**3} GiB "
                    f"({member.filename[:-4]} alone has shape {list(shape)}); a dataset for a "
                    "microcontroller model is far smaller: subsample or downscale it"
                )


def _inputs(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.ndim not in (2, 3, 4):
        raise DatasetError(
            f"{path}: {key} has shape {x.shape}; use (N, L) or (N, L, C) features "
            "or (N, H, W) / (N, H, W, C) images"
        )
    if x.dtype == np.uint8:
        return images_from_uint8(x) if x.ndim >= 3 else np.divide(x, np.float32(255.0))
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DatasetError(f"{path}: {key} has dtype {x.dtype}; store numbers (uint8 or float)")
    with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused below
        x = x.astype(np.float32)
    if x.ndim == 4 and (x.min() < 0.0 or x.max() > 1.0):
        raise DatasetError(
            f"{path}: {key} images range {x.min():g}..{x.max():g}; "
            "scale them to [0, 1] or store them as uint8 pixels"
        )
    return x


def _labels(path: Path, key: str, y: np.ndarray) -> np.ndarray:
    floating = np.issubdtype(y.dtype, np.floating)
    numeric = floating or np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_
    if numeric and y.ndim == 2 and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1):
        if y.shape[1] > MAX_CLASSES:
            raise DatasetError(f"{path}: {key} is one-hot rows of {y.shape[1]:,} classes; at "
                               f"most {MAX_CLASSES:,} (no microcontroller classifier has more)")
        return np.argmax(y, axis=1).astype(np.int64)  # one-hot rows
    with np.errstate(invalid="ignore"):  # inf and nan: not integral, and no RuntimeWarning
        integral = numeric and (not floating or bool(np.all(np.mod(y, 1) == 0)))
    if y.ndim != 1 or not integral or len(y) == 0 or y.min() < 0:
        raise DatasetError(
            f"{path}: {key} has shape {y.shape} and dtype {y.dtype}; labels must be "
            "class indices 0, 1, 2, ... (one per sample) or one-hot rows"
        )
    check_label_cap(f"{path}: {key}", y)  # before a float label is cast, or names are made
    return y.astype(np.int64)


def _class_names(path: Path, arrays: dict[str, np.ndarray], y: np.ndarray) -> tuple[str, ...]:
    if "class_names" not in arrays:
        return class_names_for(y)
    names = tuple(str(n) for n in np.atleast_1d(arrays["class_names"]))
    if len(names) <= int(y.max()):
        raise DatasetError(
            f"{path}: class_names has {len(names)} names but labels go up to {int(y.max())}; "
            "give one name per class"
        )
    return names
