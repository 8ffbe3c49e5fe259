"""`tinynas search` end to end in a real process: digits, 40 candidates under a 16 KB arena
limit, a tiny training.

One search runs for the module; the tests read its JSON summary, its files and its run store,
and list it with `tinynas runs`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from search_helpers import MAX_RAM, MAX_RAM_BYTES, search_args

from tinynas.devices import get_device
from tinynas.search import pareto_front
from tinynas.space import Architecture
from tinynas.store import CandidateStatus, RunStore

CANDIDATES = 40
SUMMARY_FIELDS = {
    "run", "out", "device", "budget_text", "dataset", "strategy", "metric", "seed", "evaluated",
    "rejected", "scored", "trained", "seconds", "train_device", "candidate_id", "hash",
    "architecture", "float_accuracy", "int8_accuracy", "flash_bytes", "flash_estimated_bytes",
    "arena_bytes", "arena_estimated_bytes", "unas_peak_bytes", "latency_ms", "provenance",
    "teacher", "executor", "arena_cortex_m_bytes", "arena_estimated_source", "ram_basis",
    "plan", "stage_seconds",
}

pytestmark = [pytest.mark.slow, pytest.mark.cli]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def searched(root: Path) -> subprocess.CompletedProcess[str]:
    argv = search_args(root / "run", CANDIDATES, *MAX_RAM, "--json", planned=True)
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def summary(searched: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert searched.returncode == 0, searched.stderr[-3000:]
    return json.loads(searched.stdout)


def test_prints_a_complete_consistent_summary(summary: dict[str, Any]) -> None:
    assert set(summary) == SUMMARY_FIELDS
    assert (summary["device"], summary["dataset"], summary["strategy"], summary["metric"]) == (
        get_device("stm32").name, "digits", "random", "relu_count")  # fmt: skip
    assert summary["evaluated"] == CANDIDATES
    assert summary["rejected"] + summary["scored"] == CANDIDATES
    assert 0 < summary["rejected"] < CANDIDATES
    assert f"RAM <= {MAX_RAM_BYTES:,} B" in summary["budget_text"]
    assert summary["arena_estimated_bytes"] <= MAX_RAM_BYTES
    assert summary["trained"] == 2  # the shortlist; the winner is one of them
    assert summary["executor"] == "local, in this process"
    assert summary["teacher"] is None  # no --distill
    # the default time budget planned what the options left open, and held every stage's time
    plan = summary["plan"]
    assert plan["budget_s"] == 1800 and plan["final_epochs"] == 0.5
    assert plan["settings"] == {"shortlist": 2, "capacity_picks": 0, "halving_epochs": 0.2,
                                "epochs": 0.5, "distill": False}
    assert set(plan["stage_s"]) == {"halving", "winner", "finish"}
    assert set(summary["stage_seconds"]) == {"explore", "plan", "halving", "final"}
    assert sum(summary["stage_seconds"].values()) <= summary["seconds"]
    assert 0.0 <= summary["float_accuracy"] <= 1.0 and 0.0 <= summary["int8_accuracy"] <= 1.0
    assert summary["provenance"]["latency_ms"] == "predicted"
    assert summary["provenance"]["flash_bytes"].startswith("measured")
    # stm32 runs TFLM with CMSIS-NN: the search and the delivery held the Cortex-M arena
    assert summary["arena_estimated_source"] == "cortex-m cmsis-nn (estimated)"
    assert summary["ram_basis"] == "Cortex-M CMSIS-NN arena (estimated)"
    assert summary["arena_cortex_m_bytes"] == pytest.approx(summary["arena_estimated_bytes"],
                                                            rel=0.01)
    assert summary["arena_cortex_m_bytes"] <= MAX_RAM_BYTES


def test_the_files_match_the_summary(summary: dict[str, Any], root: Path) -> None:
    out = root / "run"
    tflite = (out / "model.tflite").read_bytes()
    assert len(tflite) == summary["flash_bytes"]
    arch = Architecture.from_json((out / "architecture.json").read_text())
    assert arch == Architecture.from_dict(summary["architecture"])
    assert arch.content_hash == summary["hash"]
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert summary["hash"] in report and f"{summary['flash_bytes']:,} B .tflite" in report
    assert f"TFLM arena {summary['arena_bytes']:,} B measured on the host (x86 build), " \
           f"{summary['arena_cortex_m_bytes']:,} B estimated for a Cortex-M" in report
    carray = (out / "model_data.cc").read_text().split("{", 1)[1]
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", carray)) == tflite
    header = (out / "model_data.h").read_text()
    assert hashlib.sha256(tflite).hexdigest() in header
    assert re.search(rf"_ARENA_BYTES {summary['arena_bytes']}\b", header)
    assert json.loads((out / "model_card.json").read_text())["tflm_arena_bytes"] == \
        summary["arena_bytes"]  # fmt: skip


def test_the_run_store_holds_every_candidate_and_the_chosen_one(
    summary: dict[str, Any], root: Path
) -> None:
    with RunStore.open(root / "run", writable=False) as store:
        candidates, chosen = store.candidates(), store.chosen()
        trainings, front, status = store.trainings(), store.front(), store.get_meta("status")
    assert len(candidates) == CANDIDATES and len({c.hash for c in candidates}) == CANDIDATES
    assert status == "finished"
    assert chosen is not None and (chosen.id, chosen.hash) == (summary["candidate_id"],
                                                               summary["hash"])  # fmt: skip
    assert chosen.estimates["flash_bytes"] == summary["flash_estimated_bytes"]
    assert chosen.estimates["latency_ms"] == summary["latency_ms"]
    scored = [c for c in candidates if c.status != CandidateStatus.REJECTED]
    rejected = [c for c in candidates if c.status == CandidateStatus.REJECTED]
    assert len(rejected) == summary["rejected"]
    for c in rejected:
        assert f"ram {c.estimates['arena_bytes']} B > {MAX_RAM_BYTES} B" in \
            (c.reject_reason or "").split("; ")  # fmt: skip
    assert all(c.estimates["arena_bytes"] <= MAX_RAM_BYTES and "relu_count" in c.scores
               for c in scored)  # fmt: skip
    top2 = sorted(scored, key=lambda c: -c.scores["relu_count"])[:2]
    stages = {(t.candidate_id, t.stage) for t in trainings}
    assert {cid for cid, stage in stages if stage == "halving-0"} == {c.id for c in top2}
    assert {(chosen.id, "final"), (chosen.id, "final-test")} <= stages
    assert not {cid for cid, _ in stages} & {c.id for c in rejected}  # never trained
    (test,) = [t for t in trainings if t.stage == "final-test"]
    assert (test.test_accuracy, test.int8_accuracy) == (summary["float_accuracy"],
                                                        summary["int8_accuracy"])  # fmt: skip
    points = [(-c.scores["relu_count"], c.estimates["latency_ms"], c.estimates["arena_bytes"],
               c.estimates["flash_bytes"]) for c in scored]  # fmt: skip
    assert [c.id for c in front] == [scored[i].id for i in pareto_front(points)]


def test_runs_lists_the_run(summary: dict[str, Any], root: Path) -> None:
    result = run_cli("runs", "--root", str(root), "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)
    assert (run["name"], run["status"], run["device"], run["dataset"]) == (
        "run", "finished", summary["device"], "digits")  # fmt: skip
    assert (run["candidates"], run["evaluated"], run["trained"]) == (CANDIDATES, CANDIDATES, 2)
    assert run["best_accuracy"] == summary["float_accuracy"]


def test_runs_show_shows_the_front_and_the_chosen_model(
    summary: dict[str, Any], root: Path
) -> None:
    result = run_cli("runs", "show", "run", "--root", str(root), "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    with RunStore.open(root / "run", writable=False) as store:
        front_ids = [c.id for c in store.front()]
    assert [c["id"] for c in shown["front"]] == front_ids and front_ids
    assert all(c["on_front"] for c in shown["front"])
    assert shown["chosen"]["id"] == summary["candidate_id"]
    assert {"model.tflite", "report.md", "pareto.png", "model_data.cc"} <= set(shown["files"])
    text = run_cli("runs", "show", "run", "--root", str(root), cwd=root)
    assert text.returncode == 0, text.stderr
    assert f"Pareto front of run 'run' ({len(front_ids)} candidates)" in text.stdout
    assert f"chosen model: candidate {summary['candidate_id']}" in text.stdout
