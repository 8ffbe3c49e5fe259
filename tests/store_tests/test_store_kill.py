"""A writer killed with SIGKILL at random moments loses nothing it acknowledged, and resumes.

The child stands in for the search loop: for each architecture it skips what the store already
holds as finished, otherwise stores it as proposed, scores it, marks it scored, and only then
prints ``ack``. The test kills it at random moments, checks the store after every kill, and
finally lets a last child finish the run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import REPO_ROOT as REPO

from tinynas.store import CandidateStatus, RunStore
from tinynas.testing.store import arch

TOTAL = 300
KILLS = 5
MAX_ACKS_BEFORE_KILL = 30  # so that 5 kills leave work for the last child, however fast

# the child builds the same architectures as tinynas.testing.store.arch without importing
# pytest and numpy, which would triple its start-up time
CHILD = """
import sys
from tinynas.space import Architecture, ConvBlock, ConvLayer
from tinynas.store import RunStore

def arch(n):
    layer = ConvLayer(type="conv2d", kernel_size=3, filters=n + 1)
    return Architecture((8, 8, 1), 3, blocks=(ConvBlock((layer,)),), dense=(10,))

run_dir, mode, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = RunStore.create(run_dir, {"seed": 7}) if mode == "create" else RunStore.open(run_dir)
for n in range(total):
    a = arch(n)
    rec = store.find(a.content_hash)
    if rec is not None and rec.status.is_finished():
        continue
    if rec is None:
        rec = store.add_candidate(a, "proposed", {"macs": n})
    print(f"eval {n}", flush=True)
    store.set_scores(rec.id, {"score": float(n)})
    store.set_status(rec.id, "scored")
    print(f"ack {rec.id} {a.content_hash} {n}", flush=True)
store.finish()
store.close()
print("done", flush=True)
"""


def start_child(run_dir: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir), mode, str(TOTAL)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def kill_at_random(child: subprocess.Popen[str], rng: random.Random) -> list[str]:
    """Kill the child a random moment after a random number of acks; its output lines."""
    assert child.stdout is not None and child.stderr is not None
    lines: list[str] = []
    wanted = rng.randint(1, MAX_ACKS_BEFORE_KILL)
    while sum(line.startswith("ack ") for line in lines) < wanted:
        line = child.stdout.readline()
        assert line, "".join(lines) + child.stderr.read()
        lines.append(line.strip())
    time.sleep(rng.uniform(0.0, 0.005))  # lands anywhere in the child's write cycle
    os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the child finished before it was killed"
    return lines + rest.splitlines()


def acks(lines: list[str]) -> dict[int, tuple[int, str]]:
    """index n -> (candidate id, hash) of every acknowledged candidate."""
    out = {}
    for line in lines:
        if line.startswith("ack "):
            _, cid, content_hash, n = line.split()
            out[int(n)] = (int(cid), content_hash)
    return out


def check_store(run_dir: Path, acked: dict[int, tuple[int, str]]) -> None:
    """The store is sound and holds every acknowledged candidate, scored, exactly once."""
    with RunStore.open(run_dir, writable=False) as store:
        assert store.integrity_problems() == []
        candidates = store.candidates()
    by_hash = {c.hash: c for c in candidates}
    assert len(by_hash) == len(candidates)
    for n, (cid, content_hash) in acked.items():
        rec = by_hash[content_hash]
        assert (rec.id, rec.status, rec.scores) == (cid, CandidateStatus.SCORED, {"score": n})


def test_sigkill_loses_nothing_acknowledged_and_resume_repeats_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    acked: dict[int, tuple[int, str]] = {}
    for attempt in range(KILLS):
        lines = kill_at_random(start_child(run_dir, "create" if attempt == 0 else "resume"), rng)
        evaluated = {int(line.split()[1]) for line in lines if line.startswith("eval ")}
        assert not evaluated & set(acked), f"seed {seed}: an acknowledged candidate was redone"
        acked.update(acks(lines))
        check_store(run_dir, acked)
    assert 0 < len(acked) < TOTAL, f"seed {seed}"
    last = start_child(run_dir, "resume")
    out, err = last.communicate(timeout=60)
    assert last.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "done"
    assert not {int(x.split()[1]) for x in lines if x.startswith("eval ")} & set(acked)
    acked.update(acks(lines))
    # a kill between a commit and its ack leaves one stored, unacknowledged candidate
    assert len(set(range(TOTAL)) - set(acked)) <= KILLS
    check_store(run_dir, acked)
    with RunStore.open(run_dir, writable=False) as store:
        assert store.count() == store.count(CandidateStatus.SCORED) == TOTAL
        assert [c.hash for c in store.candidates()] == [arch(n).content_hash for n in range(TOTAL)]
        assert store.get_meta("status") == "finished"
