"""The single-writer lock of a run folder: ``run_dir/.lock`` held with ``flock``.

The lock is an advisory ``flock(LOCK_EX | LOCK_NB)`` on an open file, so the operating system
drops it when the writing process dies in any way (``kill -9`` included) and a killed run can
be resumed at once, with no stale lock to clean up. The file holds the writer's pid, for the
message that a second writer gets. POSIX only (``fcntl``).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from tinynas.errors import StoreError

LOCK_NAME = ".lock"
_RETRIES = 4  # a reader's probe holds a shared lock for microseconds; retry past it
_RETRY_SECONDS = 0.05


class WriterLock:
    """An exclusive lock on a run folder, held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_NAME
        self._run_name = run_dir.name
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid into the lock file.

        Raises:
            StoreError: another process (or another store in this one) holds the lock.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _lock(self, fd: int) -> None:
        for attempt in range(_RETRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if attempt + 1 < _RETRIES:
                    time.sleep(_RETRY_SECONDS)
        raise StoreError(
            f"run '{self._run_name}' is being written by another process "
            f"(pid {_holder_pid(self.path)}); wait for it to finish or choose another --out"
        )

    def release(self) -> None:
        """Drop the lock (closing the file releases it); a second call does nothing."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _holder_pid(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "unknown"
    return text if text.isdigit() else "unknown"


def is_locked(run_dir: Path) -> bool:
    """Whether a writer holds the run folder's lock now, without waiting or creating files.

    The probe takes a shared lock and drops it at once; a writer starting at that moment
    retries past it (see ``_RETRIES``).
    """
    try:
        fd = os.open(run_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
