"""The idx reader: exact round trip of small files, gzip'd and raw, and corrupt files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from data_helpers import idx_bytes, write_idx

from tinynas.data import DatasetError, read_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_image_and_label_pair_parse_exactly(tmp_path: Path, suffix: str) -> None:
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([7, 0, 255], dtype=np.uint8)
    got_images = read_idx(write_idx(tmp_path / f"images-idx3-ubyte{suffix}", images))
    got_labels = read_idx(write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", labels))
    assert got_images.shape == (3, 4, 5) and got_images.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_wider_types_are_read_big_endian(tmp_path: Path) -> None:
    values = np.array([[1, -2], [300, -32768]], dtype=">i2")
    got = read_idx(write_idx(tmp_path / "shorts-idx2", values))
    assert got.tolist() == [[1, -2], [300, -32768]]
    assert got.dtype.byteorder in ("=", "|", "<")  # native order for numpy and torch


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-100])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.*truncated"):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = gzip.compress(idx_bytes(np.arange(2000, dtype=np.uint8) % 10))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\.gz"):
        read_idx(path)


def test_wrong_magic_number_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "not-idx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetError, match="not-idx is not an idx file.*89504e47"):
        read_idx(path)


def test_header_cut_short_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "short-header"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 5]))  # says 3 sizes, holds one
    with pytest.raises(DatasetError, match="short-header is truncated inside its header"):
        read_idx(path)
