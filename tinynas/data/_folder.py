"""The user's own images: a folder with one subfolder of PNG/JPEG/BMP images per class.

Class names are the subfolder names, in sorted order. A folder holding ``train/`` and
``test/``, each with the class subfolders, keeps that split; otherwise 20 % of each class is
held out as the test set, seeded. Every image is resized (bilinear) to the size of the first
image, or to ``image_size``. When every image is grayscale the inputs have one channel,
otherwise three (RGB; alpha is dropped). Pixels are scaled from 0..255 to [0, 1].
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinynas.data._dataset import MAX_CLASSES, Dataset, images_from_uint8
from tinynas.data._errors import DatasetError
from tinynas.data._split import Samples, split

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
GRAY_MODES = frozenset({"1", "L", "LA"})
COLOR_MODES = frozenset({"P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})
TEST_FRACTION = 0.2
# Checked from each image's header before it is decoded: 8192 x 8192 is more than any camera
# photo (and below PIL's own decompression-bomb warning, 89 M pixels).
MAX_IMAGE_PIXELS = 8192 * 8192
# One resized sample: the same cap as tinynas.space.MAX_INPUT_ELEMENTS, the largest input a
# microcontroller model takes (an int8 input in the largest SRAM of the catalogue).
MAX_SAMPLE_ELEMENTS = 2 * 1024 * 1024
# All images as float32, checked before any is decoded (Fashion-MNIST takes 220 MB).
MAX_DATASET_BYTES = 16 * 1024**3

Labelled = list[tuple[Path, int]]  # image files with their class index
ImageSize = int | tuple[int, int] | None  # (height, width), one int for a square, or None


def load_folder(path: str | Path, image_size: ImageSize = None, seed: int = 0) -> Dataset:
    """Load a folder of images, one subfolder per class.

    Args:
        path: The folder.
        image_size: ``(height, width)``, or one int for square images; by default the size of
            the first image (in sorted order).
        seed: Seed of the 80/20 split when the folder has no ``train/`` and ``test/``.

    Returns:
        Images ``(N, H, W, 1)`` or ``(N, H, W, 3)`` in [0, 1], named after the folder.

    Raises:
        DatasetError: When there are no class subfolders, a class has no images, or an image
            cannot be read.
    """
    root = Path(path)
    classes, train_files, test_files = _layout(root)
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"{root} has {len(classes):,} class folders; at most {MAX_CLASSES:,} "
                           "(no microcontroller classifier has more)")  # fmt: skip
    all_files = train_files + (test_files or [])
    channels, size_hw = _probe(all_files, image_size)
    _check_memory(root, len(all_files), channels, size_hw, image_size is None)
    x = images_from_uint8(np.stack([_read(f, channels, size_hw) for f, _ in all_files]))
    y = np.array([label for _, label in all_files], dtype=np.int64)
    if test_files is not None:  # the folder's own train/ and test/
        n = len(train_files)
        train, test = Samples(x[:n], y[:n]), Samples(x[n:], y[n:])
    else:
        train, test = split(x, y, TEST_FRACTION, seed)
    name = root.resolve().name  # "." names the folder it stands for
    return Dataset(name, train.x, train.y, test.x, test.y, tuple(classes), str(root))


def _layout(root: Path) -> tuple[list[str], Labelled, Labelled | None]:
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist; pass a folder of class folders")
    train_root, test_root = root / "train", root / "test"
    if _class_dirs(train_root) and _class_dirs(test_root):
        classes = [d.name for d in _class_dirs(train_root)]
        extra = sorted({d.name for d in _class_dirs(test_root)} - set(classes))
        if extra:
            raise DatasetError(
                f"{test_root} has classes {extra} that {train_root} lacks; "
                "give train/ a folder for every class of test/"
            )
        return classes, _files(train_root, classes), _files(test_root, classes, allow_empty=True)
    classes = [d.name for d in _class_dirs(root)]
    if not classes:
        raise DatasetError(
            f"{root} has no class subfolders; put the images of each class in their own "
            "subfolder, e.g. cats/*.png and dogs/*.png"
        )
    return classes, _files(root, classes), None


def _class_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _files(root: Path, classes: list[str], allow_empty: bool = False) -> Labelled:
    labelled: Labelled = []
    for label, name in enumerate(classes):
        folder = root / name
        images = sorted(
            f for f in (folder.iterdir() if folder.is_dir() else ())
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
        )  # fmt: skip
        if not images and not allow_empty:
            raise DatasetError(
                f"class folder {folder} has no {'/'.join(IMAGE_SUFFIXES)} images; "
                "add images or remove the folder"
            )
        labelled += [(f, label) for f in images]
    return labelled


def _probe(files: Labelled, image_size: ImageSize) -> tuple[int, tuple[int, int]]:
    """Channels (1 when every image is grayscale, else 3) and the target (height, width)."""
    modes: set[str] = set()
    first_size_hw = (0, 0)
    for i, (path, _) in enumerate(files):
        with _open(path) as image:
            if image.mode not in GRAY_MODES | COLOR_MODES:
                raise DatasetError(
                    f"{path} has pixel mode {image.mode}; only 8-bit grayscale or colour "
                    "images are read, convert it to 8-bit PNG"
                )
            modes.add(image.mode)
            first_size_hw = (image.height, image.width) if i == 0 else first_size_hw
    channels = 1 if modes <= GRAY_MODES else 3
    return channels, _size_hw(image_size, first_size_hw)


def _check_memory(root: Path, count: int, channels: int, size_hw: tuple[int, int],
                  default_size: bool) -> None:  # fmt: skip
    """Refuses samples larger than any model takes, or a dataset beyond memory, before any
    image is decoded."""
    elements = size_hw[0] * size_hw[1] * channels
    hint = ("the size of the first image; pass --image-size, e.g. 96" if default_size
            else "pass a smaller --image-size")  # fmt: skip
    if elements > MAX_SAMPLE_ELEMENTS:
        raise DatasetError(
            f"{root}: images of {size_hw[0]}x{size_hw[1]}x{channels} are {elements:,} values, "
            f"more than a microcontroller model takes (at most {MAX_SAMPLE_ELEMENTS:,}); "
            f"{hint}"
        )
    if count * elements * 4 > MAX_DATASET_BYTES:
        raise DatasetError(
            f"{root}: {count:,} images of {size_hw[0]}x{size_hw[1]}x{channels} need "
            f"{count * elements * 4 / 1024**3:,.1f} GiB as float32, more than "
            f"{MAX_DATASET_BYTES // 1024**3} GiB; use fewer images or pass a smaller --image-size"
        )


def _size_hw(image_size: ImageSize, default: tuple[int, int]) -> tuple[int, int]:
    if image_size is None:
        return default
    size_hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size_hw) != 2 or min(size_hw) < 1:
        raise DatasetError(f"image size {image_size} is not HEIGHT,WIDTH of at least 1 pixel")
    return int(size_hw[0]), int(size_hw[1])


def _read(path: Path, channels: int, size_hw: tuple[int, int]) -> np.ndarray:
    from PIL import Image as PIL

    with _open(path) as image:
        try:
            converted = image.convert("L" if channels == 1 else "RGB")
        except (OSError, ValueError) as e:  # a truncated or corrupt file fails on decode
            raise _unreadable(path, e) from e
    if (converted.height, converted.width) != size_hw:
        converted = converted.resize((size_hw[1], size_hw[0]), PIL.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.uint8)
    return pixels if channels == 3 else pixels[..., np.newaxis]


def _open(path: Path) -> Image:
    """The image, opened (only its header is read); refused when its header claims more than
    ``MAX_IMAGE_PIXELS``."""
    from PIL import Image as PIL

    try:
        with warnings.catch_warnings():  # PIL warns of a large image; it is refused below
            warnings.simplefilter("ignore", PIL.DecompressionBombWarning)
            image = PIL.open(path)
    except PIL.DecompressionBombError:  # over twice PIL's MAX_IMAGE_PIXELS
        raise _too_large(path, "its header claims more pixels than PIL decodes") from None
    except OSError as e:  # PIL.UnidentifiedImageError is an OSError
        raise _unreadable(path, e) from e
    if math.prod(image.size) > MAX_IMAGE_PIXELS:
        width, height = image.size
        image.close()
        raise _too_large(path, f"{width}x{height} pixels")
    return image


def _too_large(path: Path, size: str) -> DatasetError:
    return DatasetError(
        f"image {path} is too large ({size}; at most {MAX_IMAGE_PIXELS:,} pixels are decoded); "
        "downscale it or remove it"
    )


def _unreadable(path: Path, error: Exception) -> DatasetError:
    return DatasetError(f"cannot read image {path} ({error}); remove or replace the file")
