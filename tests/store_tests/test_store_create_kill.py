"""A process killed while it creates a run store leaves a folder that works afterwards.

Every folder left must either hold no run.db, where a fresh create works (and removes what the
killed create left), or a complete store that opens (read-only as ``tinynas runs`` does, and
writable as ``--resume`` does). The kills are real SIGKILLs: at every step of a creation (each
SQL statement and each rename, counted on a run to the end), and at random moments.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT as REPO

from tinynas.store import CandidateStatus, RunStore
from tinynas.store._store import CREATING_NAME
from tinynas.testing.store import arch

CONFIG = {"seed": 7}

# Counts the steps of one creation, then for each step forks a process that creates a store in
# a fresh folder and SIGKILLs itself just before that step; prints "<step> <killed>".
KILL_AT_EVERY_STEP = """
import os, signal, sys
from pathlib import Path
from tinynas.store import RunStore, _store

base, config = Path(sys.argv[1]), {"seed": 7}
steps, kill_at = 0, 0

def step():
    global steps
    steps += 1
    if steps == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

real_configure, real_replace = _store._configure, os.replace

def configure(conn, writable):
    conn.set_trace_callback(lambda statement: step())
    real_configure(conn, writable)

def replace(src, dst):
    step()
    real_replace(src, dst)
    step()

_store._configure, os.replace = configure, replace
RunStore.create(base / "whole", config).close()
total = steps
for n in range(1, total + 2):
    pid = os.fork()
    if pid == 0:
        steps, kill_at = 0, n
        RunStore.create(base / f"k{n:03d}", config).close()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(n, "killed" if killed else f"status {status}", flush=True)
"""

# Creates stores in fresh folders r0, r1, ... until it is killed.
CREATE_FOREVER = """
import itertools, sys
from pathlib import Path
from tinynas.store import RunStore

base = Path(sys.argv[1])
print("ready", flush=True)
for n in itertools.count():
    RunStore.create(base / f"r{n:05d}", {"seed": 7}).close()
"""


def check_folder(folder: Path) -> str:
    """The folder holds a complete store, or no run.db and a fresh create works there (and
    removes the temporary that a killed create left); how it was found."""
    if not (folder / "run.db").exists():
        temporary = (folder / CREATING_NAME).exists()
        RunStore.create(folder, CONFIG).close()
        left = [p.name for p in folder.iterdir() if p.name.startswith(CREATING_NAME)]
        assert left == [], f"{folder.name}: {left}"
        state = "temporary removed" if temporary else "no run.db"
    else:
        state = "complete"
    with RunStore.open(folder, writable=False) as reader:  # tinynas runs
        assert reader.config() == CONFIG and reader.integrity_problems() == []
    with RunStore.open(folder) as store:  # --resume
        assert store.get_meta("status") == "running"
        store.add_candidate(arch(0), CandidateStatus.SCORED)
    return state


@pytest.mark.slow  # forks and kills a process per step
def test_a_kill_at_any_step_of_create_leaves_a_usable_folder(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILL_AT_EVERY_STEP, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    outcomes = [line.split(maxsplit=1) for line in child.stdout.splitlines()]
    assert len(outcomes) > 10, child.stdout
    assert all(o == "killed" for _, o in outcomes[:-1]), child.stdout
    assert outcomes[-1][1] == "status 0"  # one past the last step: no kill
    folders = sorted(tmp_path.glob("k*"))
    assert len(folders) == len(outcomes)
    states = {folder.name: check_folder(folder) for folder in folders}
    # both outcomes were hit, and killed creates left temporaries that the next one removed
    assert {"temporary removed", "complete"} <= set(states.values()), states


@pytest.mark.slow  # forks and kills processes at random moments
def test_sigkill_at_random_moments_of_create_leaves_usable_folders(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    for attempt in range(6):
        base = tmp_path / f"b{attempt}"
        child = subprocess.Popen(
            [sys.executable, "-c", CREATE_FOREVER, str(base)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.communicate()[1]
        time.sleep(rng.uniform(0.02, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        _, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, f"seed {seed}: {err}"
    folders = sorted(tmp_path.glob("b*/r*"))
    assert folders, f"seed {seed}"
    for folder in folders:
        check_folder(folder)
