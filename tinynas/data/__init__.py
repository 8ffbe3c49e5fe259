"""Datasets: Fashion-MNIST, scikit-learn's digits, and the user's own ``.npz`` or image folder.

``load_dataset`` takes a built-in name (see ``DATASETS``) or a path, and returns a
``Dataset`` held in memory: float32 inputs (images channels-last in [0, 1]), int64 labels, a
train and a test part. Nothing is cached on disk. A dataset that cannot be found raises one
``DatasetError`` naming every place looked.
"""

from __future__ import annotations

from pathlib import Path

from tinynas.data._dataset import MAX_CLASSES, Dataset
from tinynas.data._digits import load_digits
from tinynas.data._errors import DatasetError
from tinynas.data._fashion import DEBIAN_DIR, load_fashion_mnist
from tinynas.data._folder import load_folder
from tinynas.data._holdout import SplitData, holdout_split
from tinynas.data._idx import read_idx
from tinynas.data._npz import load_npz
from tinynas.data._paths import ENV_VAR, data_dirs
from tinynas.data._split import Samples, split

# built-in dataset name -> what it is
DATASETS = {
    "fashion-mnist": "Fashion-MNIST: 60000 + 10000 grayscale 28x28 images of clothing, 10 classes",
    "digits": "scikit-learn digits: 1797 grayscale 8x8 handwritten digits, 10 classes",
}
ALIASES = {"fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist"}


def load_dataset(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    *,
    image_size: int | tuple[int, int] | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load a built-in dataset by name, or the user's own from a ``.npz`` file or a folder.

    Args:
        name_or_path: A name of ``DATASETS`` or an alias (``fmnist``, ``fashion_mnist``), or a
            path to a ``.npz`` file or to a folder of images with one subfolder per class. A
            relative path is also looked for in ``data_dir`` and in ``$TINYNAS_DATA``.
        data_dir: The folder to look in first (``--data-dir``).
        image_size: ``(height, width)`` (or one int) to resize a folder's images to.
        seed: Seed of the 80/20 train/test split of data that has no split of its own.
        download: Whether Fashion-MNIST may be downloaded through Keras when no local copy
            is found.

    Returns:
        The dataset.

    Raises:
        DatasetError: When the dataset is not found (naming every place looked), cannot be
            read, or ``image_size`` is given for anything but an image folder.
    """
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DatasetError(
            f"--data-dir {data_dir} does not exist or is not a folder; give the folder that "
            "holds the dataset, or leave --data-dir out"
        )
    name = ALIASES.get(str(name_or_path).strip().lower(), str(name_or_path).strip().lower())
    if name in DATASETS:
        _no_image_size(name_or_path, image_size)
        if name == "fashion-mnist":
            return load_fashion_mnist(data_dir, download)
        return load_digits(seed)
    path = _find_path(name_or_path, data_dir)
    if path.is_dir():
        return load_folder(path, image_size=image_size, seed=seed)
    _no_image_size(name_or_path, image_size)
    if path.suffix.lower() == ".npz":
        return load_npz(path, seed=seed)
    raise DatasetError(
        f"dataset file {path} is neither a .npz file nor a folder; save the arrays with "
        "numpy.savez or put the images in one subfolder per class"
    )


def _no_image_size(name_or_path: str | Path, image_size: int | tuple[int, int] | None) -> None:
    if image_size is not None:
        raise DatasetError(
            f"--image-size {image_size} applies only to a folder of images, not to "
            f"'{name_or_path}'; leave it out"
        )


def _find_path(name_or_path: str | Path, data_dir: str | Path | None) -> Path:
    path = Path(name_or_path).expanduser()
    places = [("as given", path)]
    if not path.is_absolute():
        places += [(origin, folder / path) for origin, folder in data_dirs(data_dir)]
    for _, candidate in places:
        if candidate.exists():
            return candidate
    looked = "; ".join(f"{candidate.absolute()} ({origin})" for origin, candidate in places)
    raise DatasetError(
        f"dataset '{name_or_path}' not found: it is not a built-in dataset "
        f"({', '.join([*DATASETS, *ALIASES])}) and no such file or folder exists; looked in "
        f"{looked}. Pass a built-in name, a .npz file, or a folder of images with one "
        f"subfolder per class (--data-dir or ${ENV_VAR} add places to look)"
    )


__all__ = [
    "ALIASES",
    "DATASETS",
    "DEBIAN_DIR",
    "ENV_VAR",
    "MAX_CLASSES",
    "Dataset",
    "DatasetError",
    "Samples",
    "SplitData",
    "data_dirs",
    "holdout_split",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_folder",
    "load_npz",
    "read_idx",
    "split",
]
