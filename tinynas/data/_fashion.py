"""Fashion-MNIST (Xiao et al., 2017): 70 000 grayscale 28x28 images of 10 kinds of clothing.

The four idx files are looked for, in order, in ``--data-dir``, in each folder of
``$TINYNAS_DATA``, and where Debian's ``dataset-fashion-mnist`` package puts them; in each
folder directly or in a ``fashion-mnist`` subfolder, gzip'd or not. Only when none of these
holds them is ``tf.keras.datasets.fashion_mnist.load_data()`` tried, which downloads the files
where a network exists (into Keras's own cache, ``~/.keras/datasets``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinynas.data._dataset import Dataset, images_from_uint8
from tinynas.data._errors import DatasetError
from tinynas.data._idx import read_idx
from tinynas.data._paths import ENV_VAR, data_dirs
from tinynas.native import import_quietly

NAME = "fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist
SUBFOLDERS = ("", "fashion-mnist", "fashion_mnist")
FILES = {  # Dataset field -> idx file name, without ".gz"
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
IMAGE_SHAPE = (28, 28)


def load_fashion_mnist(data_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Load Fashion-MNIST from the first place that has it.

    Args:
        data_dir: A folder to look in first (``--data-dir``).
        download: Whether to try the Keras download when no local copy is found.

    Returns:
        60 000 training and 10 000 test images ``(28, 28, 1)`` in [0, 1], 10 classes.

    Raises:
        DatasetError: When no place has the files (naming every place looked), or a file
            found is corrupt.
    """
    looked = []
    places = [*data_dirs(data_dir), ("Debian dataset-fashion-mnist", DEBIAN_DIR)]
    for origin, root in places:
        files, note = find_idx_files(root)
        if files is not None:
            return _from_arrays({key: read_idx(path) for key, path in files.items()}, files)
        looked.append(f"{root} ({origin}): {note}")
    if not download:
        looked.append("keras download: not tried (download disabled)")
    else:
        arrays, note = _try_keras()
        if arrays is not None:
            return _from_arrays(arrays, None)
        looked.append(f"keras download: {note}")
    raise DatasetError(_not_found_message(looked))


def find_idx_files(root: Path) -> tuple[dict[str, Path] | None, str]:
    """The four idx files in ``root`` or its ``fashion-mnist`` subfolder.

    Args:
        root: A folder to look in.

    Returns:
        ``(files, "")`` when all four are there, else ``(None, why not)``.
    """
    if not root.is_dir():
        return None, "no such folder"
    notes = []
    for folder in (root / sub for sub in SUBFOLDERS):
        found = {key: _find_one(folder, stem) for key, stem in FILES.items()}
        present = {key: path for key, path in found.items() if path is not None}
        if len(present) == len(FILES):
            return present, ""
        if present:
            missing = ", ".join(FILES[key] for key in FILES if key not in present)
            notes.append(f"{folder} lacks {missing}")
    return None, "; ".join(notes) or "no Fashion-MNIST idx files"


def _find_one(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _from_arrays(arrays: dict[str, np.ndarray], files: dict[str, Path] | None) -> Dataset:
    for key in ("x_train", "x_test"):
        if arrays[key].shape[1:] != IMAGE_SHAPE or arrays[key].dtype != np.uint8:
            where = files[key] if files else "the keras download"
            raise DatasetError(
                f"{where} holds {arrays[key].dtype} images of shape {arrays[key].shape}, not "
                f"uint8 (N, 28, 28); it is not Fashion-MNIST, replace it with the original"
            )
    source = str(files["x_train"].parent) if files else "keras download"
    return Dataset(
        NAME, images_from_uint8(arrays["x_train"]), arrays["y_train"],
        images_from_uint8(arrays["x_test"]), arrays["y_test"], CLASS_NAMES, source,
    )  # fmt: skip


def _download_keras() -> dict[str, np.ndarray]:
    tf = import_quietly("tensorflow")  # heavy: imported only when no local copy exists

    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _try_keras() -> tuple[dict[str, np.ndarray] | None, str]:
    try:
        return _download_keras(), ""
    except ImportError as e:
        return None, f"tensorflow is not importable ({e})"
    except Exception as e:  # keras raises a bare Exception for a failed URL fetch
        return None, f"failed ({type(e).__name__}: {e})".replace("\n", " ")


def _not_found_message(looked: list[str]) -> str:
    places = "; ".join(f"({i}) {place}" for i, place in enumerate(looked, 1))
    return (
        f"dataset '{NAME}' not found; looked in {places}. Install Debian's "
        f"dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass --data-dir "
        f"or set ${ENV_VAR} to a folder holding {FILES['x_train']}.gz and the other three "
        "idx files, or run where the keras download can reach the network"
    )
