"""A reader of the idx file format of MNIST and Fashion-MNIST, plain or gzip'd.

Layout (LeCun et al., "THE MNIST DATABASE", yann.lecun.com/exdb/mnist/): two zero bytes, one
byte naming the element type, one byte with the number of dimensions D, then D big-endian
uint32 sizes, then the elements in C order (big-endian when wider than a byte).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.data._errors import DatasetError

# element-type byte of the magic number -> numpy dtype (big-endian)
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file; a name ending in ``.gz`` is decompressed first.

    Args:
        path: The idx file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        The array with the file's shape and element type (native byte order).

    Raises:
        DatasetError: When the file cannot be read, is not idx, or is truncated.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] not in IDX_DTYPES:
        raise DatasetError(
            f"{path} is not an idx file (magic number {raw[:4].hex() or 'missing'}); "
            "replace it with the original download"
        )
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise DatasetError(f"{path} is truncated inside its header; download it again")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header_bytes != expected:
        raise DatasetError(
            f"{path} holds {len(raw) - header_bytes} data bytes but its header {shape} needs "
            f"{expected}; the file is truncated or corrupt, download it again"
        )
    data = np.frombuffer(raw, dtype, offset=header_bytes).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"cannot read {path}: {e}; download it again") from e
