"""P-DARTS (Chen et al., ICCV 2019) for width refinement: the relaxed search in stages.

P-DARTS closes DARTS' depth gap: a shallow stack of cells searched and a deep one evaluated
favours operations that suit the shallow one. It searches in three stages (on CIFAR-10: 5, 11
and 17 cells, with 8, 5 and 3 candidate operations per edge), each deeper than the last and with
every edge's candidates cut to those the previous stage weighted most. Operation-level dropout
on the skip connections (rates rising with the stage) keeps parameter-free operations from
winning early, and the final cell keeps at most M = 2 skip connections. Its CIFAR-10 cell: 2.50%
test error with 3.4 M parameters in 0.3 GPU-days, against 2.76% for second-order DARTS.

Here a stage is a width relaxation (`WidthRelaxation`) of the network deepened by STAGE_DEPTHS
(`tinynas.search.deepen`: each serial block's layers times the factor, the new layers copies of
the block's last one; where the space has no room left, 3 layers a block and 10 blocks, it stays
as it is), searched with first-order DARTS's updates under the same budget penalty as RARTS and
DARTS. After each stage every layer keeps the STAGE_OPTIONS width multipliers of highest
probability (averaged over the layers that copy it). Operation-level dropout leaves each width
option out of a layer's mask with the stage's rate (STAGE_DROPOUT) at each forward pass. The
narrowest option is where a width search collapses when the penalty dominates, as DARTS does
onto skip connections, so the cap is on it: at most NARROWEST_CAP layers take the width of the
smallest multiplier (0.25x) when the widths are made discrete (the others their next most
probable), counted whatever options a layer kept, as P-DARTS counts skip connections, before the
exact-estimator gate narrows what it must. The delivered network is the last stage's depth with
those widths; if not even its narrowest widths fit, the unrefined network is returned.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.estimators import Budget, estimate
from tinynas.refine._relaxed import MULTIPLIERS, WidthChoice, WidthRelaxation, width_choices
from tinynas.space import MAX_BLOCKS, MAX_FILTERS, MAX_LAYERS_PER_BLOCK, MAX_UNITS, Architecture

STAGE_DEPTHS = (1.0, 1.34, 1.67)  # of each serial block's layers: 3 -> 3, 2 -> 3, 1 -> 2
STAGE_OPTIONS = (len(MULTIPLIERS), 4, 2)  # width multipliers searched in each stage
STAGE_DROPOUT = (0.0, 0.2, 0.4)  # P-DARTS raises its skip-connection dropout by stage
NARROWEST_CAP = 2  # P-DARTS's M


def deepen_with_origins(arch: Architecture, depth: float) -> tuple[Architecture, dict[str, str]]:
    """`tinynas.search.deepen(arch, depth)` and, for each of its layers, the layer of `arch`
    it is (or copies), by graph name (b<block>l<layer>)."""
    from tinynas.search import deepen

    deeper = deepen(arch, depth)
    origins: dict[str, str] = {}
    new = 0
    for i, block in enumerate(arch.blocks):
        if new >= MAX_BLOCKS:
            break
        last = len(block.layers) - 1
        total = len(block.layers) if block.parallel or depth <= 1.0 else \
            math.ceil(len(block.layers) * depth - 1e-9)  # as deepen rounds
        placed = 0
        while placed < total and new < MAX_BLOCKS:  # the block, then serial blocks after it
            n = min(MAX_LAYERS_PER_BLOCK, total - placed)
            for j in range(n):
                k = placed + j
                origins[f"b{new}l{j}"] = f"b{i}l{min(k, last)}"
            placed += n
            new += 1
    assert new == len(deeper.blocks), "deepen_with_origins must follow deepen"
    return deeper, origins


def _cap(name: str) -> int:
    """The most channels (a convolution) or units (a dense layer, "d<k>") a layer may have."""
    return MAX_UNITS if name.startswith("d") else MAX_FILTERS


def _scaled_width(multiplier: float, width: int, cap: int) -> int:
    return min(cap, max(1, round(multiplier * width)))


def _options(width: int, multipliers: tuple[float, ...], cap: int) -> tuple[int, ...]:
    return tuple(sorted({_scaled_width(m, width, cap) for m in multipliers}))


def _stage_choices(arch: Architecture, origins: dict[str, str],
                   allowed: dict[str, tuple[float, ...]]) -> list[WidthChoice]:
    """The relaxable layers of `arch` with their origin's surviving multipliers as options."""
    choices = []
    for c in width_choices(arch):
        width = c.options[c.original]
        multipliers = allowed.get(origins.get(c.name, c.name), MULTIPLIERS)
        options = _options(width, multipliers, _cap(c.name))
        nearest = min(range(len(options)), key=lambda k: abs(options[k] - width))
        choices.append(WidthChoice(c.name, options, nearest))
    return choices


def _kept_multipliers(relax: WidthRelaxation, origins: dict[str, str],
                      allowed: dict[str, tuple[float, ...]], arch: Architecture,
                      keep: int) -> dict[str, tuple[float, ...]]:
    """Per origin layer, the `keep` multipliers of highest probability (an option's
    probability shared among the multipliers that give its width; averaged over copies)."""
    credit: dict[str, dict[float, list[float]]] = {}
    for c in relax.choices:
        origin = origins.get(c.name, c.name)
        width = _width_of(arch, c.name)
        multipliers = allowed.get(origin, MULTIPLIERS)
        cap = _cap(c.name)
        p = relax.probabilities(c.name).detach().numpy()
        per = credit.setdefault(origin, {m: [] for m in multipliers})
        for m in multipliers:
            option = _scaled_width(m, width, cap)
            k = c.options.index(option)
            sharing = sum(_scaled_width(o, width, cap) == option for o in multipliers)
            per[m].append(float(p[k]) / sharing)
    return {origin: tuple(sorted(sorted(per, key=lambda m: (-np.mean(per[m]), m))[:keep]))
            for origin, per in credit.items()}


def _width_of(arch: Architecture, name: str) -> int:
    if name.startswith("d"):
        return arch.dense[int(name[1:])]
    i, j = (int(v) for v in name[1:].split("l"))
    return arch.blocks[i].layers[j].filters


def capped_widths(relax: WidthRelaxation, cap: int = NARROWEST_CAP,
                  narrowest: dict[str, int] | None = None) -> dict[str, int]:
    """The most probable widths, with at most `cap` layers at their narrowest width: past the
    cap, the layers whose narrowest option leads by the least take their next most probable
    option. A layer's narrowest width is `narrowest[name]` where given (P-DARTS caps one kind
    of operation whatever each edge kept, so the staged search passes the widths of the
    smallest multiplier, which an earlier stage may have dropped), else its first option."""
    widths = relax.discrete_widths()

    def floor(c: WidthChoice) -> int:
        return c.options[0] if narrowest is None else narrowest.get(c.name, c.options[0])

    at_floor = [c for c in relax.choices if len(c.options) > 1 and widths[c.name] == floor(c)]
    if len(at_floor) <= cap:
        return widths

    def others(c: WidthChoice) -> list[int]:
        return [k for k, w in enumerate(c.options) if w != floor(c)]

    def margin(c: WidthChoice) -> float:
        p = relax.probabilities(c.name).detach().numpy()
        return float(p[c.options.index(floor(c))] - max(p[k] for k in others(c)))

    for c in sorted(at_floor, key=margin)[:len(at_floor) - cap]:
        p = relax.probabilities(c.name).detach().numpy()
        widths[c.name] = c.options[max(others(c), key=lambda k: p[k])]
    return widths


def pdarts_search(arch: Architecture, x: np.ndarray, y: np.ndarray, device: Device,
                  budget: Budget, config: Any) -> tuple[WidthRelaxation, float, Architecture,
                                                        dict[str, int], int]:
    """The staged search (module docstring): (the last stage's relaxation, search seconds,
    the refined network, its widths, the width steps the budget gate took away)."""
    import torch

    from tinynas.refine._refine import fit_to_budget, train_relaxation

    torch.manual_seed(config.seed)
    allowed: dict[str, tuple[float, ...]] = {}
    seconds = 0.0
    stages = len(STAGE_DEPTHS)
    relax = None
    deeper = arch
    for k, (depth, dropout) in enumerate(zip(STAGE_DEPTHS, STAGE_DROPOUT)):
        deeper, origins = deepen_with_origins(arch, depth)
        relax = WidthRelaxation(deeper, _stage_choices(deeper, origins, allowed))
        relax.option_dropout = dropout
        seconds += train_relaxation(relax, deeper, x, y, device, budget, config, "darts1",
                                    config.epochs / stages, seed_offset=k)
        relax.option_dropout = 0.0
        if k + 1 < stages:
            allowed = _kept_multipliers(relax, origins, allowed, deeper,
                                        STAGE_OPTIONS[k + 1])
    assert relax is not None
    smallest = {c.name: _scaled_width(MULTIPLIERS[0], _width_of(deeper, c.name), _cap(c.name))
                for c in relax.choices}
    refined, widths, narrowed = fit_to_budget(deeper, relax, device, budget,
                                              capped_widths(relax, narrowest=smallest))
    if budget.violations(estimate(refined, device)):  # not even the narrowest widths fit
        original = {c.name: c.options[c.original] for c in width_choices(arch)}
        return relax, seconds, arch, original, narrowed
    return relax, seconds, refined, widths, narrowed

