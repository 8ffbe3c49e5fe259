"""Where a command writes: checked before the work starts, so that an unwritable ``--out`` is
one line at once, not a failure after minutes of conversion or training.

A folder passes when it exists and is writable, or when it can be created: its nearest
existing ancestor is a writable folder. A file passes when it is not a folder, is writable if
it exists, and its folder passes. Nothing is created or written by the checks (``os.access``
asks the kernel, which also answers for read-only file systems).

A file that exists is never written over unless the user says so (``--force``), and a file is
written whole or not at all: into a temporary beside it, renamed over the target when complete,
so a kill or a full disk leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
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


def refuse_existing(paths: Iterable[str | Path], option: str, force: bool) -> None:
    """Raises :class:`OutputError` naming the files of ``paths`` that exist, unless ``force``."""
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing and not force:
        shown = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more"
                                           if len(existing) > 3 else "")  # fmt: skip
        verb, them = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise OutputError(f"{option}: {shown} {verb} already; give another {option}, or "
                          f"--force to replace {them}")  # fmt: skip


def write_output(path: str | Path, data: str | bytes, option: str) -> None:
    """Writes ``data`` to ``path`` whole (a temporary renamed over it); a failure leaves
    ``path`` as it was and is an :class:`OutputError` naming ``option``."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        if isinstance(data, str):
            temp.write_text(data, encoding="utf-8")
        else:
            temp.write_bytes(data)
        os.replace(temp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise OutputError(f"{option} {path}: cannot write it ({e.strerror or e}); give a "
                          "writable file on a device with room") from e  # fmt: skip
