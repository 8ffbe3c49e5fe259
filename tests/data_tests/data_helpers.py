"""Writers of small idx files and Fashion-MNIST-shaped folders, shared by the data tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from tinynas.data import _fashion

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B}


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx encoding of ``array``, written independently of the reader under test."""
    code = TYPE_CODES[array.dtype]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def write_fashion(folder: Path, n_train: int = 20, n_test: int = 10, gz: bool = True) -> dict:
    """Four idx files shaped like Fashion-MNIST with seeded random pixels and labels."""
    rng = np.random.default_rng(n_train * 1000 + n_test)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in _fashion.FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays
