"""Where a command writes: checked before the work starts, so that an unwritable ``--out`` is
one line at once, not a failure after minutes of conversion or training.

A folder passes when it exists and is writable, or when it can be created: its nearest
existing ancestor is a writable folder. A file passes when it is not a folder, is writable if
it exists, and its folder passes. Nothing is created or written by the checks (``os.access``
asks the kernel, which also answers for read-only file systems).
"""

from __future__ import annotations

import os
from pathlib import Path

from tinynas.errors import TinyNASError


class OutputError(TinyNASError):
    """An output file or folder that cannot be created or written."""


def _nearest_existing(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def dir_problem(path: str | Path) -> str | None:
    """Why folder ``path`` can be neither written nor created, or None when it can."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            return "it is a file, not a folder"
        return None if _writable(path) else "the folder is not writable"
    ancestor = _nearest_existing(path)
    if not ancestor.is_dir():
        return f"it cannot be created: {ancestor} is a file, not a folder"
    if not _writable(ancestor):
        return f"it cannot be created: {ancestor} is not writable"
    return None


def file_problem(path: str | Path) -> str | None:
    """Why file ``path`` cannot be written, or None when it can."""
    path = Path(path)
    if path.is_dir():
        return "it is a folder, not a file"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is not writable"
    problem = dir_problem(path.parent)
    return None if problem is None else f"its folder {path.parent}: {problem}"


def check_out_dir(path: str | Path, option: str) -> None:
    """Raises :class:`OutputError` unless folder ``path`` exists and is writable, or can be
    created; ``option`` (``--out``) names it in the message."""
    problem = dir_problem(path)
    if problem is not None:
        raise OutputError(f"{option} {path}: {problem}; give a folder where you can write")


def check_out_file(path: str | Path, option: str) -> None:
    """Raises :class:`OutputError` unless file ``path`` can be written (see the module)."""
    problem = file_problem(path)
    if problem is not None:
        raise OutputError(f"{option} {path}: {problem}; give a file where you can write")


def write_output(path: str | Path, data: str | bytes, option: str) -> None:
    """Writes ``data`` to ``path``; a failure is an :class:`OutputError` naming ``option``."""
    path = Path(path)
    try:
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    except OSError as e:
        raise OutputError(f"{option} {path}: cannot write it ({e.strerror or e}); give a "
                          "writable file on a device with room") from e  # fmt: skip
