"""A distilled search: the teacher is trained once, kept in the run, and its soft targets reach
the winner's final training."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from tinynas.data import SplitData, load_dataset
from tinynas.errors import TinyNASError
from tinynas.pipeline import RESUME_FIXED, SearchConfig, teacher_targets
from tinynas.pipeline._summary import teacher_summary
from tinynas.store import RunStore, open_run
from tinynas.train import DISTILL_WEIGHT, TEACHER_MAX_EPOCHS, distilled_recipes, recipe_for


def test_distilled_recipes_replace_label_smoothing_and_cap_the_teacher() -> None:
    recipe = recipe_for("fashion-mnist", 120)
    winner, teacher = distilled_recipes(recipe)
    assert (winner.distill_weight, winner.label_smoothing) == (DISTILL_WEIGHT, 0.0)
    assert (winner.epochs, winner.erase_p, winner.flip) == (120, recipe.erase_p, True)
    assert (teacher.distill_weight, teacher.label_smoothing) == (0.0, 0.0)
    assert teacher.epochs == TEACHER_MAX_EPOCHS and teacher.erase_p == recipe.erase_p
    assert distilled_recipes(recipe_for("digits", 4))[1].epochs == 4


def test_a_run_is_resumed_only_with_the_distillation_it_started_with(tmp_path: Path) -> None:
    plain = SearchConfig(device="nucleo-l4r5zi", out=tmp_path / "run", dataset="digits",
                         distill=False)
    open_run(plain.out, plain.to_dict(), False, RESUME_FIXED).close()
    distilled = replace(plain, distill=True)
    with pytest.raises(TinyNASError, match="distill=False, not True"):
        open_run(distilled.out, distilled.to_dict(), True, RESUME_FIXED)
    open_run(plain.out, plain.to_dict(), True, RESUME_FIXED).close()


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.cli
def test_a_distilled_search_keeps_its_teacher_and_reports_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("search", "--device", "stm32", "--dataset", "digits", "--strategy", "random",
                     "--metric", "relu_count", "--candidates", "10", "--shortlist", "2",
                     "--halving-epochs", "0.2", "--epochs", "8", "--distill", "--time-budget",
                     "none", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with RunStore.open(out, writable=False) as store:
        teacher = teacher_summary(store)
    assert teacher is not None and teacher.epochs == 8 and teacher.params > 100_000
    assert 0.8 < teacher.test_accuracy <= 1.0  # chance is 0.1
    screen = " ".join(result.stdout.split())  # the summary table, wrapped at any width
    assert f"distilled from a {teacher.params:,}-parameter CNN" in screen
    assert f"float {teacher.test_accuracy:.2%}" in screen
    assert (out / "weights" / "teacher.pt").exists()
    assert "distilled from a teacher CNN" in (out / "report.md").read_text()
    # the kept teacher is loaded, not trained again: the same targets, the same record
    ds = load_dataset("digits")
    full = SplitData(ds.x_train, ds.y_train, ds.x_train[:0], ds.y_train[:0], ds.num_classes)
    _, teacher_recipe = distilled_recipes(recipe_for("digits", 8))
    with RunStore.open(out) as store:
        kept = store.get_meta("teacher")
        soft = teacher_targets(store, full, ds.x_test, ds.y_test, teacher_recipe, 0, False)
        assert store.get_meta("teacher") == kept
    assert soft.logits.shape == (len(ds.x_train), 10) and soft.mirrored is None
    assert float(np.mean(soft.logits.argmax(1) == ds.y_train)) > 0.8
