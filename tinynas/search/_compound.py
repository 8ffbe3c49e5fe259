"""Compound scaling (EfficientNet, Tan & Le, ICML 2019) under a board's budget.

EfficientNet scales a base network's depth by a^phi, its width by b^phi and its input
resolution by g^phi together. It finds (a, b, g) by a small grid search at phi = 1 under the
constraint that FLOPs double, a * b^2 * g^2 ~ 2 (FLOPs grow with depth, width squared and
resolution squared), which gave a = 1.2, b = 1.1, g = 1.15 for EfficientNet-B0, then grows phi.
On a microcontroller the limits are not FLOPs: the TFLM arena grows roughly with width x
resolution^2 and not with depth, the flash with depth x width^2, the latency with depth x
width^2 x resolution^2. So the constraint at phi = 1 is taken on the board's binding resource
(the largest fraction of its limit the base uses, `Budget.fractions`), measured by the exact
estimators: a grid point is admitted when that resource grows between MIN_GROWTH and 2 times
and the scaled network fits the whole budget. The admitted point the run's ranker scores best
gives (a, b, g); phi then steps up by PHI_STEP while the scaled network fits.

Phases, rebuilt from the told results alone (a resumed run continues where it stopped):

1. base: `explore` random samples; the base is the best-scored of those that use at most
   half of every limit (room for phi = 1 to double the binding resource), or `base`;
2. fit: every grid point of DEPTHS x WIDTHS x RESOLUTIONS admitted at phi = 1;
3. scale: phi = 1 + PHI_STEP, 1 + 2 PHI_STEP, ... with the fitted constants, until
   MISSES_TO_STOP scaled networks in a row are over the budget;
4. then the next base: the next such explored candidate by score, and again from 2.

Depth scales each serial block's layer count (rounded up); layers past a block's 3 go into
a serial block after it, copies of its last layer with stride 1 and no pooling, as
EfficientNet repeats a stage's last layer. Width and resolution scale as `grid` does.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from tinynas.devices import Device
from tinynas.estimators import Budget, estimate
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._grid import scale
from tinynas.space import (
    MAX_BLOCKS,
    MAX_LAYERS_PER_BLOCK,
    Architecture,
    ConvBlock,
    canonical,
    problems,
    sample,
)

DEPTHS = (1.0, 1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0)
WIDTHS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4)
RESOLUTIONS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3)
MIN_GROWTH = 1.5  # of the binding resource at phi = 1 ("~ 2" of the paper, from below)
PHI_STEP = 0.5
MISSES_TO_STOP = 2
MAX_STEPS = 40  # phi steps tried at most for one base
EXPLORE = 200  # random samples before the first base


def deepen(arch: Architecture, depth: float) -> Architecture:
    """`arch` with each serial block's layers times `depth` (rounded up; module docstring)."""
    blocks: list[ConvBlock] = []
    for block in arch.blocks:
        if block.parallel or depth <= 1.0:
            blocks.append(block)
            continue
        total = math.ceil(len(block.layers) * depth - 1e-9)
        extra = total - len(block.layers)
        repeat = replace(block.layers[-1], stride=1, pre_pool=False)
        room = MAX_LAYERS_PER_BLOCK - len(block.layers)
        blocks.append(replace(block, layers=block.layers + (repeat,) * min(room, extra)))
        extra -= min(room, extra)
        while extra > 0:
            n = min(MAX_LAYERS_PER_BLOCK, extra)
            blocks.append(ConvBlock(layers=(repeat,) * n, parallel=False))
            extra -= n
    return canonical(replace(arch, blocks=tuple(blocks[:MAX_BLOCKS])))


def compound_scale(arch: Architecture, depth: float, width: float,
                   resolution: float) -> Architecture:
    """`arch` scaled in depth, width and input resolution by these multipliers."""
    return scale(deepen(arch, depth), width, resolution)


def binding_resource(budget: Budget, arch: Architecture, device: Device | None) -> str | None:
    """The resource `arch` uses the largest fraction of (None when the budget sets none)."""
    fractions = budget.fractions(estimate(arch, device))
    return max(fractions, key=fractions.__getitem__) if fractions else None


@dataclass(frozen=True)
class Constants:
    """A fitted (a, b, g) for one base, and the resource that fitted them."""

    depth: float
    width: float
    resolution: float
    resource: str | None


class CompoundStrategy(BaseStrategy):
    name = "compound"

    def __init__(self, space: SearchSpace, seed: int, device: Device | None = None,
                 budget: Budget | None = None, base: Architecture | None = None,
                 explore: int = EXPLORE) -> None:
        super().__init__(space, seed)
        self.device, self.budget = device, budget or Budget()
        self.given_base = base
        self.explore = 0 if base is not None else explore
        self.scores: dict[str, float | None] = {}  # hash -> score (None: rejected)
        self.order: list[Architecture] = []  # told, in order
        self.constants: list[Constants] = []  # per base, as fitted (module docstring)
        self._queue: list[Architecture] = []
        self._phase: tuple[str, int] = ("", -1)
        # derived from the told results, cached: bases per explored count, grids per base
        self._bases: tuple[int, list[Architecture]] | None = None
        self._grids: dict[str, list[tuple[Architecture, tuple[float, ...]]]] = {}

    # -- what has been told ------------------------------------------------------------

    def tell(self, arch: Architecture, score: float | None) -> None:
        self.scores[arch.content_hash] = score
        self.order.append(arch)

    def _score(self, arch: Architecture) -> float | None:
        return self.scores.get(arch.content_hash)

    def _told(self, arch: Architecture) -> bool:
        return arch.content_hash in self.scores

    def report(self) -> dict[str, Any] | None:
        """The bases scaled so far and the constants fitted for each."""
        if not self.constants:
            return None
        bases = self.bases()
        return {"compound": [{"base": bases[i].content_hash, **asdict(c)}
                             for i, c in enumerate(self.constants) if i < len(bases)]}

    # -- asking --------------------------------------------------------------------------

    def ask(self) -> Architecture:
        if len(self.order) < self.explore:
            return self._random()
        while True:
            candidate = self._next_planned()
            if candidate is not None:
                return candidate
            if not self._advance():
                return self._random()  # no base left to scale: keep exploring

    def _random(self) -> Architecture:
        return sample(self.space.input_shape, self.space.num_classes, self.rng,
                      self.space.config)

    def bases(self) -> list[Architecture]:
        """The bases in the order they are scaled: the given one, else the explored
        candidates with room to double (at most half of every limit used), best-scored first
        (rebuilt from the told results)."""
        if self.given_base is not None:
            return [self.given_base]
        explored = min(len(self.order), self.explore)
        if self._bases is None or self._bases[0] != explored:
            scored = [(s, i, a) for i, a in enumerate(self.order[:explored])
                      if (s := self._score(a)) is not None and self._room(a)]
            self._bases = (explored,
                           [a for _, _, a in sorted(scored, key=lambda t: (-t[0], t[1]))])
        return self._bases[1]

    def _room(self, arch: Architecture) -> bool:
        fractions = self.budget.fractions(estimate(arch, self.device))
        return all(f <= 0.5 for f in fractions.values())

    def _next_planned(self) -> Architecture | None:
        """The first candidate of the current phase not told yet, or None when the base's
        phases are done (their last result told)."""
        phase, index = self._phase
        if index < 0:
            self._phase = phase, index = ("fit", 0)
        bases = self.bases()
        if index >= len(bases):
            return None
        base = bases[index]
        if phase == "fit":
            grid = self.fit_grid(base)
            pending = [a for a in [base, *(a for a, _ in grid)] if not self._told(a)]
            if pending:
                return pending[0]
            self._set_constants(index, self._fitted(base, grid))
            self._phase = ("scale", index)
        constants = self.constants[index]
        if (constants.depth, constants.width, constants.resolution) == (1.0, 1.0, 1.0):
            return None
        misses, seen = 0, {base.content_hash}
        for step in range(1, MAX_STEPS + 1):
            arch = self._scaled(base, constants, 1.0 + step * PHI_STEP)
            if arch is None or arch.content_hash in seen:  # over, or no longer growing
                misses += 1
                if misses >= MISSES_TO_STOP:
                    break
                continue
            seen.add(arch.content_hash)
            if not self._told(arch):
                return arch
            misses = misses + 1 if self._score(arch) is None else 0
            if misses >= MISSES_TO_STOP:
                break
        return None

    def _advance(self) -> bool:
        """Moves to the next base; False when there is none."""
        _, index = self._phase
        if index + 1 >= len(self.bases()):
            return False
        self._phase = ("fit", index + 1)
        return True

    def _set_constants(self, index: int, constants: Constants) -> None:
        del self.constants[index:]
        self.constants.append(constants)

    # -- the grid at phi = 1 and the steps after it ---------------------------------------

    def fit_grid(self, base: Architecture) -> list[tuple[Architecture, tuple[float, ...]]]:
        """The networks of the grid at phi = 1 the constraint admits (module docstring) with
        their (a, b, g), in grid order, without repeats."""
        if base.content_hash in self._grids:
            return self._grids[base.content_hash]
        resource = binding_resource(self.budget, base, self.device)
        base_use = self._use(base, resource)
        out: list[tuple[Architecture, tuple[float, ...]]] = []
        seen = {base.content_hash}
        for point in itertools.product(DEPTHS, WIDTHS, RESOLUTIONS):
            arch = compound_scale(base, *point)
            if arch.content_hash in seen or problems(arch):
                continue
            seen.add(arch.content_hash)
            if self.budget.violations(estimate(arch, self.device)):
                continue
            if resource is not None and base_use > 0:
                growth = self._use(arch, resource) / base_use
                if not MIN_GROWTH <= growth <= 2.0:
                    continue
            out.append((arch, point))
        self._grids[base.content_hash] = out
        return out

    def _use(self, arch: Architecture, resource: str | None) -> float:
        if resource is None:
            return 0.0
        return self.budget.fractions(estimate(arch, self.device)).get(resource, 0.0)

    def _fitted(self, base: Architecture,
                grid: list[tuple[Architecture, tuple[float, ...]]]) -> Constants:
        """The constants of the best-scored admitted grid point (1, 1, 1 when none scored)."""
        scored = [(score, i, point) for i, (arch, point) in enumerate(grid)
                  if (score := self._score(arch)) is not None]
        d, w, r = max(scored, key=lambda t: (t[0], -t[1]))[2] if scored else (1.0, 1.0, 1.0)
        return Constants(d, w, r, binding_resource(self.budget, base, self.device))

    def _scaled(self, base: Architecture, c: Constants, phi: float) -> Architecture | None:
        """The base at `phi` with constants `c`, or None when it is not a valid network or
        over the budget."""
        arch = compound_scale(base, c.depth ** phi, c.width ** phi, c.resolution ** phi)
        if problems(arch) or self.budget.violations(estimate(arch, self.device)):
            return None
        return arch
