"""`tinynas search --time-budget`: the plan is printed before training, fills what the options
leave open, is kept in the run store, and a budget too short to train says so in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import run_cli

from tinynas.pipeline._plan import RECIPES, RunPlan, most_epochs
from tinynas.store import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.cli, pytest.mark.train]

BASE = ("search", "--device", "stm32", "--dataset", "digits", "--strategy", "random",
        "--metric", "relu_count", "--candidates", "30", "--train-subset", "300",
        "--max-ram", "16KB")  # fmt: skip


def test_a_planned_search_prints_its_plan_and_keeps_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(*BASE, "--shortlist", "4", "--time-budget", "55s", "--out", str(out),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    screen = " ".join(result.stdout.split())
    assert "plan for a time budget of 55 s (epoch costs measured on cpu" in screen
    assert "shortlist 4 candidates: 2 by the ranker, 2 capacity picks, each at most" in screen
    assert " ETA " in screen and "from now, predicted" in screen
    assert screen.index("plan for a time budget") < screen.index("tinynas search: run")
    with RunStore.open(out, writable=False) as store:
        plan = RunPlan.from_dict(store.get_meta("plan"))
        picks = [store.candidate(i) for i in store.get_meta("capacity_picks")]
        halved = {t.candidate_id for t in store.trainings() if t.stage == "halving-0"}
        shortlist = [store.candidate(i) for i in halved]
        final = [t for t in store.trainings() if t.stage == "final"]
    assert plan.budget_s == 55 and (plan.settings.distill, plan.settings.epochs) in RECIPES
    assert plan.predicted_s < 55  # the stages after exploration and measuring
    assert len(picks) == 2 and plan.max_macs is not None
    # the cap bounds the whole shortlist: the capacity picks and the ranker's picks
    assert all(p.estimates["macs"] <= plan.max_macs for p in shortlist)
    assert {p.id for p in picks} <= halved and len(halved) == 4
    # fitted to the time left: fewer than planned, or more up to the recipe's most useful
    assert len(final) == 1 and 1 <= final[0].epochs <= most_epochs(plan.settings.distill)
    assert "| halving |" in (out / "report.md").read_text()


def test_a_budget_too_short_to_train_is_one_line(tmp_path: Path) -> None:
    result = run_cli(*BASE, "--time-budget", "2s", "--out", str(tmp_path / "run"),
                     cwd=tmp_path)  # fmt: skip
    # the exploration's progress was shown; then the one line, before any training
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(r"error: the time budget leaves \d+ s for training on this machine "
                        r"and the shortest plan needs \d+ s; raise --time-budget, or train on "
                        r"fewer images with --train-subset", line), line
    with RunStore.open(tmp_path / "run", writable=False) as store:
        assert store.get_meta("status") == "failed" and store.get_meta("plan") is None
        assert store.count() > 0  # the explored candidates are kept for --resume
