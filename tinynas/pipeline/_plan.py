"""The plan of a search under a time budget: what each stage may spend, fixed before training.

A search's cost is almost all training: the successive-halving rungs, the distillation teacher
and the winner's final training. Each is a number of epochs times what one epoch of that
network costs on this machine, and that cost is measured (`tinynas.train.
measure_epoch_seconds`) on the shortlist, on the teacher and on a few probes of the capacity
picks' pool and of the candidates, then fitted as seconds per image = a + b * MACs
(`EpochCost`) to price the picks not measured. The plan then takes the first recipe of
`RECIPES` that fits what is left of the budget after exploration, with a cap on the shortlist's
MACs as high as that recipe allows: the capacity picks are the largest networks under it, and
the ranker picks only among the candidates under it, so that no member of the shortlist is too
dear for the recipe (a ranker such as the parameter count otherwise picks networks that one
epoch of the budget cannot train):

- recipes, best first, from the measurements on Fashion-MNIST in docs/benchmarks.md (the μNAS
  reference point): a distilled 120-epoch winner (93.57% int8) beat a distilled 60-epoch one
  (93.42%), which beat 60 epochs without a teacher (93.06%); without a teacher, epochs past
  60 gained nothing. Below 60 epochs accuracy falls with the epochs.
- a recipe is taken only if its cap may reach MIN_WINNER_MACS (or the budget's largest
  network, if smaller): after 40 epochs the small networks the rankers favour
  plateaued near 91% where the 4 M-MAC capacity pick passed 93% (docs/benchmarks.md), so
  epochs are not bought with capacity.
- each recipe is tried with first rungs of 1, 0.5 and 0.25 epochs before a shorter recipe.

Halving is priced as if every member cost what a network at the cap costs and the most
expensive survived each rung, and the winner as the most expensive member, so the plan errs
long; once the shortlist is drawn, its members are measured and the plan priced again; after
the halving the winner's epochs are fitted again to the time left, from the winner's own
measured rung trainings (`fit_final_epochs`): fewer when it is dearer than planned, more (up
to the recipe's most useful epochs) when it is cheaper.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tinynas.errors import TinyNASError
from tinynas.units import format_duration

# (distilled, winner epochs), best first (module docstring)
RECIPES: tuple[tuple[bool, float], ...] = (
    (True, 120.0), (True, 60.0), (False, 60.0), (False, 30.0), (False, 20.0), (False, 10.0),
    (False, 5.0), (False, 2.0), (False, 1.0),
)
FIRST_RUNG_EPOCHS = (1.0, 0.5, 0.25)
MIN_WINNER_MACS = 1_000_000
PLANNED_SHORTLIST = 8
PLANNED_CAPACITY_PICKS = 3  # the μNAS reference run's: 3 of a shortlist of 8
PLANNED_CANDIDATES = 2000  # explored at most, within EXPLORE_SHARE of the budget
EXPLORE_SHARE = 0.1
EXPLORE_MAX_S = 600.0
# int8 conversion, the TFLM test on the test split, the export: TensorFlow's start and the
# converter, then the int8 model on every test image; under a minute for Fashion-MNIST's
# 10,000 on the 2-core development machine (docs/benchmarks.md)
FINISH_FIXED_S = 20.0
FINISH_PER_TEST_IMAGE_S = 0.004
# what a training job costs besides its epochs (building the network, the validation pass,
# the weights' trip back): 0.4 to 2.1 s on the executors of docs/benchmarks.md
JOB_OVERHEAD_S = 1.5
# of the time left, what a winner cheaper than planned may take in more epochs: a margin for
# the epoch cost measured on short rungs
EXTEND_SHARE = 0.9
# settings of a run without a time budget, where the user gave none
UNPLANNED: dict[str, Any] = {"shortlist": 8, "capacity_picks": 0, "halving_epochs": 1.0,
                             "epochs": 10.0, "distill": False}


@dataclass(frozen=True)
class Settings:
    """The stage settings a plan decides, unless the user fixed them."""

    shortlist: int
    capacity_picks: int
    halving_epochs: float  # the first rung's
    epochs: float  # the winner's final training
    distill: bool  # a teacher is trained first (tinynas.train.distilled_recipes)


@dataclass(frozen=True)
class EpochCost:
    """Seconds of one training epoch per image, as `per_image_s + per_mac_s * MACs`: a least-
    squares line through measured networks, neither term negative."""

    per_image_s: float
    per_mac_s: float

    def seconds(self, macs: int, images: int) -> float:
        return images * (self.per_image_s + self.per_mac_s * macs)

    def max_macs(self, epoch_s: float, images: int) -> int:
        """The most MACs a network may have for one epoch on `images` to take `epoch_s`."""
        spare = epoch_s / images - self.per_image_s
        if self.per_mac_s <= 0:
            return 2**62 if spare >= 0 else 0
        return max(0, int(spare / self.per_mac_s))

    @classmethod
    def fit(cls, macs: Sequence[int], per_image_s: Sequence[float]) -> EpochCost:
        if not macs:
            raise ValueError("no measured network to fit the epoch cost to")
        n = len(macs)
        mean_m, mean_s = sum(macs) / n, sum(per_image_s) / n
        var = sum((m - mean_m) ** 2 for m in macs)
        slope = sum((m - mean_m) * (s - mean_s) for m, s in zip(macs, per_image_s)) / var \
            if var > 0 else 0.0
        if slope <= 0:
            return cls(mean_s, 0.0)
        intercept = mean_s - slope * mean_m
        if intercept < 0:  # through the origin instead
            return cls(0.0, sum(m * s for m, s in zip(macs, per_image_s))
                       / sum(m * m for m in macs))
        return cls(intercept, slope)


@dataclass(frozen=True)
class Costs:
    """The measured inputs of a plan."""

    remaining_s: float  # of the budget, after exploration and these measurements
    # the ranker's picks, one halving epoch each; empty: they are drawn under the cap and
    # priced at it
    metric_picks_epoch_s: tuple[float, ...]
    halving_images: int
    final_images: int
    teacher_epoch_s: float  # on the final images
    test_images: int  # what the finish runs the int8 model on
    epoch_cost: EpochCost  # for the capacity picks not measured
    pool_max_macs: int  # the largest network the shortlist could hold (0: none)
    parallel: int  # trainings at once (the executor's workers)


@dataclass(frozen=True)
class RunPlan:
    """A run's settings and, with a time budget, what each stage is predicted to take."""

    settings: Settings
    budget_s: float | None = None
    max_macs: int | None = None  # the shortlist's cap, from the time budget (None: no cap)
    stage_s: dict[str, float] = field(default_factory=dict)  # predicted seconds per stage
    basis: str = ""  # where the costs were measured
    ranked: tuple[int, ...] | None = None  # the ranker's picks, drawn and measured (ids)
    capacity: tuple[str, ...] | None = None  # the capacity picks, drawn and measured (hashes)

    @property
    def predicted_s(self) -> float:
        return sum(self.stage_s.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunPlan:
        ranked, capacity = d.get("ranked"), d.get("capacity")
        return cls(Settings(**d["settings"]), d.get("budget_s"),
                   d.get("max_macs", d.get("capacity_max_macs")), dict(d.get("stage_s") or {}),
                   d.get("basis", ""), None if ranked is None else tuple(ranked),
                   None if capacity is None else tuple(capacity))

    def lines(self, halving_images: int, final_images: int) -> list[str]:
        """The plan as printed before training."""
        s = self.settings
        rungs = ", ".join(f"{s.halving_epochs * 2**r:g}" for r in range(_rungs(s.shortlist)))
        picks = f"{s.shortlist - s.capacity_picks} by the ranker"
        if s.capacity_picks:
            picks += f", {s.capacity_picks} capacity picks"
        if self.max_macs is not None:
            picks += f", each at most {self.max_macs:,} MACs"
        rows = [("shortlist", f"{s.shortlist} candidates: {picks}", None),
                ("halving", f"rungs of {rungs} epochs on {halving_images:,} images",
                 self.stage_s.get("halving"))]
        if s.distill:
            rows.append(("teacher", f"{min(s.epochs, _teacher_epochs(s.epochs)):g} epochs on "
                                    f"{final_images:,} images", self.stage_s.get("teacher")))
        rows.append(("winner", f"{s.epochs:g} epochs on {final_images:,} images"
                     + (", distilled" if s.distill else ""), self.stage_s.get("winner")))
        rows.append(("finish", "int8 conversion, TFLM test, export", self.stage_s.get("finish")))
        head = "plan" if self.budget_s is None else \
            f"plan for a time budget of {format_duration(self.budget_s)}"
        out = [f"{head}{f' ({self.basis})' if self.basis else ''}:"]
        for name, what, seconds in rows:
            when = "" if seconds is None else f"  {format_duration(seconds)} (predicted)"
            out.append(f"  {name:<9} {what}{when}")
        return out


class NoPlanFits(TinyNASError):
    """Not even the shortest recipe fits the time left."""


def explore_seconds(budget_s: float) -> float:
    """The exploration's share of a time budget."""
    return min(EXPLORE_SHARE * budget_s, EXPLORE_MAX_S)


def planned_shape(shortlist: int | None, capacity_picks: int | None) -> tuple[int, int]:
    """(shortlist, capacity picks) of a planned run: the user's, else PLANNED_SHORTLIST with
    PLANNED_CAPACITY_PICKS of it, at most half."""
    size = shortlist if shortlist is not None else PLANNED_SHORTLIST
    picks = capacity_picks if capacity_picks is not None else min(PLANNED_CAPACITY_PICKS,
                                                                  size // 2)
    return size, min(picks, size)


def unplanned(fixed: Mapping[str, Any]) -> Settings:
    """The settings of a run without a time budget: the user's, else UNPLANNED."""
    def given(key: str) -> Any:
        return fixed[key] if fixed.get(key) is not None else UNPLANNED[key]

    shortlist = int(given("shortlist"))
    return Settings(shortlist, min(int(given("capacity_picks")), shortlist),
                    float(given("halving_epochs")), float(given("epochs")),
                    bool(given("distill")))


def _rungs(shortlist: int) -> int:
    """How many rungs successive halving trains for a shortlist of this size."""
    rungs, n = 1, shortlist
    while n // 2 > 1:
        n //= 2
        rungs += 1
    return rungs


def _teacher_epochs(epochs: float) -> float:
    from tinynas.train import TEACHER_MAX_EPOCHS

    return min(epochs, TEACHER_MAX_EPOCHS)


def halving_seconds(epoch_s: Sequence[float], first_epochs: float, parallel: int) -> float:
    """Predicted wall-clock of successive halving over members that each cost `epoch_s` per
    epoch, if the most expensive survive every rung: rung r trains the survivors for
    first_epochs * 2**r epochs, `parallel` at a time, each job JOB_OVERHEAD_S longer."""
    costs = sorted(epoch_s, reverse=True)
    total, n, rung = 0.0, len(costs), 0
    while n:
        jobs = [c * first_epochs * 2**rung + JOB_OVERHEAD_S for c in costs[:n]]
        total += max(sum(jobs) / max(1, parallel), max(jobs))
        n = 0 if n // 2 <= 1 else n // 2
        rung += 1
    return total


def predict(settings: Settings, costs: Costs,
            capacity_epoch_s: Sequence[float]) -> dict[str, float]:
    """Predicted seconds of each stage when the capacity picks cost `capacity_epoch_s` an
    epoch each on the final images."""
    ratio = costs.halving_images / max(1, costs.final_images)
    members = list(costs.metric_picks_epoch_s) + [c * ratio for c in capacity_epoch_s]
    stages = {"halving": halving_seconds(members, settings.halving_epochs, costs.parallel)}
    if settings.distill:
        stages["teacher"] = _teacher_epochs(settings.epochs) * costs.teacher_epoch_s
    stages["winner"] = settings.epochs * max(m / ratio for m in members) if members else 0.0
    stages["finish"] = finish_seconds(costs.test_images)
    return stages


def finish_seconds(test_images: int) -> float:
    """The time reserved for the finish: conversion, the int8 test, the export."""
    return FINISH_FIXED_S + FINISH_PER_TEST_IMAGE_S * test_images


def choose(costs: Costs, fixed: Mapping[str, Any], shortlist: int, capacity_picks: int,
           budget_s: float, basis: str = "") -> RunPlan:
    """The first recipe (RECIPES x FIRST_RUNG_EPOCHS) that fits `costs.remaining_s`, keeping
    what `fixed` gives (the user's epochs, distill and halving_epochs; None: planned), with
    the shortlist's MACs cap as high as the recipe allows. The members priced at the cap: the
    capacity picks, and the ranker's picks too when `costs` has no measured cost for them.

    Raises:
        NoPlanFits: Not even the shortest recipe fits; the message says what it needs.
    """
    recipes = [(d, e) for d, e in RECIPES
               if fixed.get("distill") in (None, d) and fixed.get("epochs") is None]
    if fixed.get("epochs") is not None:
        recipes = [(bool(fixed.get("distill")), float(fixed["epochs"]))]
    rungs = ([float(fixed["halving_epochs"])] if fixed.get("halving_epochs") is not None
             else list(FIRST_RUNG_EPOCHS))
    at_cap = capacity_picks if costs.metric_picks_epoch_s else shortlist
    ceiling = costs.epoch_cost.seconds(costs.pool_max_macs, costs.final_images)
    floor = costs.epoch_cost.seconds(min(costs.pool_max_macs, MIN_WINNER_MACS),
                                     costs.final_images)
    shortest = math.inf
    for distill, epochs in recipes:
        for first in rungs:
            settings = Settings(shortlist, capacity_picks, first, epochs, distill)

            def total(c: float, s: Settings = settings) -> float:
                return sum(predict(s, costs, [c] * at_cap).values())

            need = total(floor)
            shortest = min(shortest, need)
            if need > costs.remaining_s:
                continue
            if not at_cap:
                return RunPlan(settings, budget_s, None, predict(settings, costs, []), basis)
            every = total(ceiling) <= costs.remaining_s
            cap = ceiling if every else \
                _bisect(lambda c: total(c) <= costs.remaining_s, floor, ceiling)
            # every network fits: the pool's largest exactly, not the line read backwards (its
            # rounding can fall a MAC short and make the cap bind)
            max_macs = costs.pool_max_macs if every else \
                costs.epoch_cost.max_macs(cap, costs.final_images)
            return RunPlan(settings, budget_s, max_macs, predict(settings, costs, [cap] * at_cap),
                           basis)
    left = format_duration(max(0.0, costs.remaining_s))
    raise NoPlanFits(f"the time budget leaves {left} for training on this machine and the "
                     f"shortest plan needs {format_duration(shortest)}; raise --time-budget, or "
                     "train on fewer images with --train-subset")


def _bisect(fits: Any, lo: float, hi: float, steps: int = 40) -> float:
    """The largest x in [lo, hi] with fits(x), for fits true at lo and false at hi."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def most_epochs(distill: bool) -> float:
    """The most winner epochs worth training (RECIPES: without a teacher, epochs past 60
    gained nothing)."""
    return max(e for d, e in RECIPES if d == distill)


def fit_final_epochs(planned_epochs: float, epoch_s: float, left_s: float,
                     most_epochs: float | None = None) -> float:
    """The winner's epochs for the time left (`left_s`, after the teacher and the finish) at
    its measured `epoch_s`: as many whole epochs as fit when the planned ones do not (at least
    one); the planned epochs when they fit, or, given `most_epochs`, as many more as fit in
    EXTEND_SHARE of the time left, up to that many (the plan priced the shortlist at its cap,
    so a cheaper winner leaves time over)."""
    if epoch_s <= 0:
        return planned_epochs
    if planned_epochs * epoch_s > left_s:
        return float(max(1, math.floor(left_s / epoch_s)))
    if most_epochs is None or most_epochs <= planned_epochs:
        return planned_epochs
    return float(max(planned_epochs, min(most_epochs,
                                         math.floor(EXTEND_SHARE * left_s / epoch_s))))
