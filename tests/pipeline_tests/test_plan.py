"""The time-budget plan: halving priced rung by rung, the epoch-cost line, the recipe ladder,
and the winner's epochs fitted to the time left."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tinynas.pipeline._plan import (
    FIRST_RUNG_EPOCHS,
    JOB_OVERHEAD_S,
    MIN_WINNER_MACS,
    RECIPES,
    Costs,
    EpochCost,
    NoPlanFits,
    RunPlan,
    Settings,
    _rungs,
    choose,
    explore_seconds,
    finish_seconds,
    fit_final_epochs,
    halving_seconds,
    most_epochs,
    planned_shape,
    predict,
    unplanned,
)

# seconds per image = 1e-5 + 1e-11 * MACs: a 1 M-MAC network costs 1.2 s an epoch of 60,000
LINE = EpochCost(1e-5, 1e-11)
NONE_FIXED = {"shortlist": None, "capacity_picks": None, "halving_epochs": None,
              "epochs": None, "distill": None}


def _costs(remaining_s: float, pool_max_macs: int = 4_000_000, parallel: int = 1,
           ranked: tuple[float, ...] = (1.0, 1.0, 0.5, 0.5, 0.5)) -> Costs:
    return Costs(remaining_s=remaining_s, metric_picks_epoch_s=ranked,
                 halving_images=54_000, final_images=60_000, teacher_epoch_s=20.0,
                 test_images=10_000, epoch_cost=LINE, pool_max_macs=pool_max_macs,
                 parallel=parallel)


@pytest.mark.parametrize("pool_max_macs", [1_000_003, 2_718_281, 4_000_000, 5_000_011])
@pytest.mark.parametrize("line", [LINE, EpochCost(3.7e-4, 2.3e-9), EpochCost(1.1e-6, 7.9e-12)])
def test_a_budget_every_network_fits_caps_at_the_pool_s_largest_exactly(
        line: EpochCost, pool_max_macs: int) -> None:
    """The cap is not the line read backwards: its rounding could fall a MAC short of the
    pool's largest network and make the cap bind where nothing is unaffordable."""
    costs = replace(_costs(1e9, pool_max_macs), epoch_cost=line, metric_picks_epoch_s=())
    plan = choose(costs, NONE_FIXED, 8, 3, 1e9)
    assert plan.max_macs == pool_max_macs


def test_halving_is_priced_rung_by_rung_as_if_the_most_expensive_survived() -> None:
    o = JOB_OVERHEAD_S
    # rung 0: all four for 1 epoch; rung 1: the two dearest for 2; one left: done
    assert halving_seconds([1, 4, 1, 2], 1.0, 1) == pytest.approx(4 + 2 + 1 + 1 + 4 * o
                                                                  + 8 + 4 + 2 * o)
    # two at a time: a rung takes half its sum, but never less than its longest job
    assert halving_seconds([1, 4, 1, 2], 1.0, 2) == pytest.approx((8 + 4 * o) / 2 + 8 + o)
    assert halving_seconds([3.0], 0.5, 1) == pytest.approx(1.5 + o)  # one member, one rung
    assert halving_seconds([], 1.0, 1) == 0.0


@pytest.mark.parametrize(("size", "rungs"), [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (8, 3),
                                              (9, 3), (16, 4)])
def test_rungs_follow_successive_halving(size: int, rungs: int) -> None:
    # successive_halving trains n, keeps n // 2 and stops when one is left
    n, trained = size, 0
    while True:
        trained += 1
        n = max(1, n // 2)
        if n == 1:
            break
    assert _rungs(size) == trained == rungs


def test_the_epoch_cost_line_is_fitted_through_measurements() -> None:
    macs = [100_000, 2_000_000, 30_000_000]
    fitted = EpochCost.fit(macs, [LINE.per_image_s + LINE.per_mac_s * m for m in macs])
    assert fitted.per_image_s == pytest.approx(LINE.per_image_s)
    assert fitted.per_mac_s == pytest.approx(LINE.per_mac_s)
    assert fitted.seconds(1_000_000, 60_000) == pytest.approx(1.2)
    assert fitted.max_macs(1.2, 60_000) == pytest.approx(1_000_000, rel=1e-6)
    # a line that would cross zero goes through the origin; a falling one is flat
    steep = EpochCost.fit([1_000, 2_000], [1.0, 3.0])
    assert steep.per_image_s == 0.0 and steep.per_mac_s == pytest.approx(7 / 5000)
    assert EpochCost.fit([1, 2], [2.0, 1.0]) == EpochCost(1.5, 0.0)
    with pytest.raises(ValueError, match="no measured network"):
        EpochCost.fit([], [])


def _total(plan: RunPlan) -> float:
    return sum(plan.stage_s.values())


def test_a_long_budget_distills_the_largest_capacity_picks() -> None:
    costs = _costs(2 * 3600.0)
    plan = choose(costs, NONE_FIXED, 8, 3, 7200.0)
    assert (plan.settings.distill, plan.settings.epochs) == RECIPES[0]
    assert plan.settings.halving_epochs == FIRST_RUNG_EPOCHS[0]
    assert plan.max_macs == 4_000_000  # the largest network the pool holds: no cap
    assert _total(plan) <= costs.remaining_s
    assert plan.stage_s["teacher"] == 30 * 20.0  # the teacher's 30 epochs
    assert plan.stage_s["winner"] == pytest.approx(120 * LINE.seconds(4_000_000, 60_000))
    assert plan.stage_s["finish"] == finish_seconds(10_000)


def test_a_shorter_budget_steps_down_the_recipes_and_caps_the_picks() -> None:
    plans = [choose(_costs(s), NONE_FIXED, 8, 3, s) for s in (1500.0, 700.0, 300.0, 120.0)]
    for plan, seconds in zip(plans, (1500.0, 700.0, 300.0, 120.0)):
        assert _total(plan) <= seconds
        assert plan.max_macs is not None
        assert plan.max_macs >= MIN_WINNER_MACS  # epochs are not bought with capacity
    order = [RECIPES.index((p.settings.distill, p.settings.epochs)) for p in plans]
    assert order == sorted(order) and order[0] < order[-1]
    assert not plans[-1].settings.distill
    # where a recipe leaves time over, the picks grow up to the budget's largest network
    caps = [p.max_macs for p in plans]
    assert max(caps) == pytest.approx(4_000_000, rel=1e-6)


def test_the_user_s_settings_are_kept() -> None:
    fixed = dict(NONE_FIXED, epochs=7.0, halving_epochs=0.3)
    plan = choose(_costs(3600.0), fixed, 4, 1, 3600.0)
    assert plan.settings == Settings(4, 1, 0.3, 7.0, False)
    distilled = choose(_costs(3 * 3600.0), dict(NONE_FIXED, distill=True), 8, 3, 10800.0)
    assert distilled.settings.distill
    plain = choose(_costs(3 * 3600.0), dict(NONE_FIXED, distill=False), 8, 3, 10800.0)
    assert (plain.settings.distill, plain.settings.epochs) == (False, 60.0)


def test_a_budget_too_short_for_any_recipe_names_what_it_needs() -> None:
    with pytest.raises(NoPlanFits, match=r"leaves 30 s for training .* shortest plan needs "
                                         r"\d+ s; raise --time-budget"):
        choose(_costs(30.0), NONE_FIXED, 8, 3, 60.0)
    with pytest.raises(NoPlanFits):  # the user's epochs cannot be shortened
        choose(_costs(600.0), dict(NONE_FIXED, epochs=500.0), 8, 3, 600.0)


def test_ranker_picks_not_yet_drawn_are_priced_at_the_cap_with_the_capacity_picks() -> None:
    """Before the shortlist is drawn, every member is priced at the cap, so a recipe is never
    bought by pricing the ranker's picks cheaper than the networks it may draw."""
    costs = _costs(1500.0, ranked=())
    plan = choose(costs, NONE_FIXED, 8, 3, 1500.0)
    assert plan.max_macs is not None and plan.max_macs >= MIN_WINNER_MACS
    at_cap = LINE.seconds(plan.max_macs, 60_000)
    assert plan.stage_s == pytest.approx(predict(plan.settings, costs, [at_cap] * 8))
    assert _total(plan) <= 1500.0
    # priced by their measured costs instead, the same budget buys a longer recipe or cap
    measured = choose(_costs(1500.0), NONE_FIXED, 8, 3, 1500.0)
    assert (RECIPES.index((measured.settings.distill, measured.settings.epochs)),
            -(measured.max_macs or 0)) <= (
        RECIPES.index((plan.settings.distill, plan.settings.epochs)), -plan.max_macs)
    # without capacity picks, the cap still bounds the ranker's picks
    alone = choose(costs, NONE_FIXED, 5, 0, 1500.0)
    assert alone.max_macs is not None


def test_without_capacity_picks_the_ranker_s_measured_picks_set_the_winner_s_cost() -> None:
    costs = _costs(1800.0)
    plan = choose(costs, NONE_FIXED, 5, 0, 1800.0)
    assert plan.max_macs is None
    winner_epoch_s = 1.0 * 60_000 / 54_000  # the dearest ranker pick, on the final images
    assert plan.stage_s["winner"] == pytest.approx(plan.settings.epochs * winner_epoch_s)
    assert predict(plan.settings, costs, [])["halving"] == plan.stage_s["halving"]


def test_the_winner_s_epochs_are_fitted_to_the_time_left() -> None:
    assert fit_final_epochs(60.0, 10.0, 1000.0) == 60.0
    assert fit_final_epochs(60.0, 10.0, 555.0) == 55.0
    assert fit_final_epochs(60.0, 10.0, -5.0) == 1.0  # over already: one epoch, not none
    # a winner cheaper than planned trains longer, in 0.9 of the time left, up to the most
    assert most_epochs(False) == 60.0 and most_epochs(True) == 120.0
    assert fit_final_epochs(30.0, 10.0, 500.0, most_epochs=60.0) == 45.0  # 0.9 * 500 / 10
    assert fit_final_epochs(30.0, 10.0, 5000.0, most_epochs=60.0) == 60.0
    assert fit_final_epochs(30.0, 10.0, 320.0, most_epochs=60.0) == 30.0  # never fewer
    assert fit_final_epochs(30.0, 10.0, 5000.0) == 30.0  # the user's epochs stay


def test_shape_and_unplanned_defaults() -> None:
    assert planned_shape(None, None) == (8, 3)
    assert planned_shape(2, None) == (2, 1) and planned_shape(1, None) == (1, 0)
    assert planned_shape(4, 9) == (4, 4)
    assert unplanned(NONE_FIXED) == Settings(8, 0, 1.0, 10.0, False)
    assert unplanned(dict(NONE_FIXED, epochs=3.0, capacity_picks=12, shortlist=2)) == \
        Settings(2, 2, 1.0, 3.0, False)
    assert explore_seconds(1800.0) == 180.0 and explore_seconds(36000.0) == 600.0


def test_a_plan_survives_the_run_store_s_json() -> None:
    plan = choose(_costs(3600.0), NONE_FIXED, 8, 3, 3600.0, "measured here")
    assert RunPlan.from_dict(plan.to_dict()) == plan
    lines = plan.lines(54_000, 60_000)
    assert lines[0] == "plan for a time budget of 1 h 0 min (measured here):"
    assert any(line.strip().startswith("halving   rungs of 1, 2, 4 epochs on 54,000 images")
               for line in lines)
    assert math.isclose(plan.predicted_s, _total(plan))
    assert replace(plan, budget_s=None).lines(1, 1)[0] == "plan (measured here):"


def test_the_winner_s_epochs_follow_its_own_rung_costs_and_are_kept() -> None:
    import time

    from tinynas.estimators import estimate
    from tinynas.pipeline._run import final_epochs
    from tinynas.store import CandidateStatus, RunStore
    from tinynas.testing.metrics import sample_archs

    arch = sample_archs(1, seed=2)[0]
    store = RunStore.memory()
    winner = store.add_candidate(arch, CandidateStatus.TRAINED, estimate(arch).to_dict())
    # rungs of 1 and 2 epochs on 5,400 images took 3 s in all: 1/5,400 s an image
    store.add_training(winner.id, stage="halving-0", epochs=1.0, seed=0, train_seconds=1.0,
                       device="cpu")
    store.add_training(winner.id, stage="halving-1", epochs=2.0, seed=0, train_seconds=2.0,
                       device="cpu")
    plan = RunPlan(Settings(8, 3, 1.0, 60.0, False), 600.0, stage_s={"winner": 60.0})
    # 6,000 final images: 1.11 s an epoch; the time left after the finish's reserve: ~20 s
    deadline = time.monotonic() + finish_seconds(100) + 20.0
    epochs = final_epochs(store, plan, winner, 5_400, 6_000, 100, deadline)
    assert epochs == pytest.approx(17.0, abs=1.0)  # floor(20 / 1.11), a little less by now
    assert store.get_meta("final_epochs") == epochs
    assert final_epochs(store, plan, winner, 5_400, 6_000, 100, None) == epochs  # kept
    roomy = RunStore.memory()
    other = roomy.add_candidate(arch, CandidateStatus.TRAINED, estimate(arch).to_dict())
    assert final_epochs(roomy, plan, other, 5_400, 6_000, 100, None) == 60.0  # no deadline
