"""Child processes that end with the process that started them.

`tinynas emulate --qemu` starts QEMU, and `--workers N` starts training processes. When the
tinynas process is killed outright (SIGKILL, the out-of-memory killer) no clean-up code runs;
on Linux the kernel can still signal the children (prctl PR_SET_PDEATHSIG), so they do not
train or emulate on for nobody. This module sits in the lowest layer: standard library only.
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int | None = None) -> None:
    """In a child process: receive SIGTERM when the thread that started it ends (Linux; a
    no-op elsewhere). With `parent_pid`, a child whose parent is already gone exits at once.

    Start such children from a thread that lives as long as they should (the main thread).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # no prctl: the child outlives a killed parent, as it would anywhere else
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed
