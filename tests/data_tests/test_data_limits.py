"""Datasets that are not what they claim, or past what memory and a microcontroller take: one
DatasetError each, before anything large is allocated."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tinynas.data import MAX_CLASSES, DatasetError, _folder, _npz, load_dataset, load_folder
from tinynas.testing.cli import assert_one_line_error


def savez(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


def xy(n: int = 10) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(0).random((n, 4), np.float32), "y": np.arange(n) % 2}


def refused(path: Path, *fragments: str, **kwargs: Any) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 500, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---- .npz files ---------------------------------------------------------------------------------


def test_a_single_array_saved_with_np_save(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    with path.open("wb") as f:
        np.save(f, np.zeros((10, 4)))  # np.save writes .npy content whatever the name
    refused(path, f"cannot read {path} as .npz", "a single array, as numpy.save writes",
            "numpy.savez")  # fmt: skip


def test_an_empty_test_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = savez(tmp_path / "d.npz", x_train=rng.random((10, 4, 4, 1)), y_train=np.arange(10) % 2,
                 x_test=np.zeros((0, 4, 4, 1)), y_test=np.zeros(0, np.int64))  # fmt: skip
    refused(path, "x_test holds no samples")


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"x": np.array([["a", "b"]] * 10), "y": np.arange(10) % 2}, "dtype <U1; store numbers"),
        ({**xy(), "y": np.array(["cat", "dog"] * 5)}, "y has shape (10,) and dtype <U3"),
        ({**xy(), "y": np.array([["0", "1"]] * 10)}, "y has shape (10, 2) and dtype <U1"),
        ({**xy(), "y": np.array([0, np.inf] * 5)}, "labels must be class indices"),
        ({"x": np.float64(1.0), "y": np.arange(10) % 2}, "x has shape () for 10 labels"),
    ],
    ids=["string-x", "string-y", "string-one-hot", "inf-label", "scalar-x"],
)
def test_arrays_that_are_not_numbers_or_samples(
    tmp_path: Path, arrays: dict[str, Any], expected: str
) -> None:
    refused(savez(tmp_path / "d.npz", **arrays), expected)


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (np.array([0, 10**12] * 5), "holds label 1,000,000,000,000; labels are class indices"),
        (np.array([0.0, 1e300] * 5), "holds label 1e+300"),
        (np.array([0, MAX_CLASSES] * 5), f"holds label {MAX_CLASSES:,}"),
        (np.eye(MAX_CLASSES + 1, dtype=np.uint8)[:10], f"one-hot rows of {MAX_CLASSES + 1:,}"),
    ],
    ids=["int", "float", "just-past", "one-hot"],
)
def test_labels_past_the_class_cap_are_refused_before_names_are_made(
    tmp_path: Path, y: np.ndarray, expected: str
) -> None:
    refused(savez(tmp_path / "d.npz", x=xy()["x"], y=y), expected)


def test_the_largest_label_under_the_cap_loads(tmp_path: Path) -> None:
    y = np.array([0, MAX_CLASSES - 1] * 5)
    assert load_dataset(savez(tmp_path / "d.npz", x=xy()["x"], y=y)).num_classes == MAX_CLASSES


def _npy(shape: tuple[int, ...]) -> bytes:
    """An .npy header claiming ``shape`` float64, followed by a few bytes only."""
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(64)


def test_an_archive_claiming_huge_arrays_allocates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", _npy((10**6, 10**5)))
        archive.writestr("y.npy", _npy((10**6,)))
    refused(path, f"more than {_npz.MAX_ARRAY_BYTES // 1024**3} GiB", "[1000000, 100000]")


# ---- image folders ------------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` grey pixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(9)))


def image_folder(root: Path, big: bytes | None = None, size: int = 8) -> Path:
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (size, size), 40 * i).save(root / name / f"{i}.png")
    if big is not None:
        (root / "a" / "big.png").write_bytes(big)
    return root


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (30_000, 30_000, "its header claims more pixels than PIL decodes"),
        (9_000, 9_000, "9000x9000 pixels"),  # past our cap, under PIL's
    ],
    ids=["pil-bomb", "past-the-cap"],
)
def test_an_image_whose_header_claims_too_many_pixels(
    tmp_path: Path, width: int, height: int, expected: str, recwarn: pytest.WarningsRecorder
) -> None:
    root = image_folder(tmp_path / "imgs", png_header(width, height))
    refused(root, f"image {root / 'a' / 'big.png'} is too large", expected,
            f"at most {_folder.MAX_IMAGE_PIXELS:,} pixels")  # fmt: skip
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_images_larger_than_any_model_input_need_an_image_size(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "imgs", size=1500)
    refused(root, "images of 1500x1500x1 are 2,250,000 values", "pass --image-size")
    assert load_folder(root, image_size=16).input_shape == (16, 16, 1)


def test_a_dataset_past_memory_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_folder, "MAX_DATASET_BYTES", 6 * 8 * 8 * 4 - 1)
    refused(image_folder(tmp_path / "imgs"), "6 images of 8x8x1 need", "use fewer images")


# ---- --data-dir ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["digits", "fashion-mnist", "mine.npz"])
def test_a_missing_data_dir_is_named(tmp_path: Path, name: str) -> None:
    missing = tmp_path / "missing"
    refused(name, f"--data-dir {missing} does not exist or is not a folder", data_dir=missing)
    (tmp_path / "file").write_text("")
    refused(name, "is not a folder", data_dir=tmp_path / "file")


def test_search_says_the_data_dir_is_missing(tmp_path: Path, run_cli: Any) -> None:
    result = run_cli("search", "--device", "stm32", "--dataset", "digits", "--data-dir",
                     tmp_path / "missing", "--out", tmp_path / "run", cwd=tmp_path)
    assert_one_line_error(result, f"--data-dir {tmp_path / 'missing'} does not exist")


def test_images_helpers_write_readable_pngs() -> None:
    image = Image.open(io.BytesIO(png_header(3, 2)))
    assert image.size == (3, 2)
