"""Grid search over width and resolution multipliers (MCUNet's search-space optimisation).

Each base architecture is scaled on a grid: every layer's channels and every dense layer's units
times a width multiplier, the input's height and width times a resolution multiplier (the data
is resized to match, see `tinynas.train.fit_inputs`). Bases are seeded random samples; when a
base's grid is exhausted the next base is drawn.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.space import MAX_FILTERS, MAX_UNITS, Architecture, canonical, problems, sample

WIDTHS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
RESOLUTIONS = (0.5, 0.75, 1.0)


def scale(arch: Architecture, width: float, resolution: float) -> Architecture:
    """`arch` with channels and units times `width` and the input's H, W times `resolution`."""
    def w(n: int, cap: int) -> int:
        return min(max(1, round(n * width)), cap)

    blocks = tuple(
        replace(b, layers=tuple(replace(l, filters=w(l.filters, MAX_FILTERS) if l.filters else 0)
                                for l in b.layers))
        for b in arch.blocks
    )
    shape = arch.input_shape
    if len(shape) == 3:
        shape = (max(1, round(shape[0] * resolution)), max(1, round(shape[1] * resolution)),
                 shape[2])
    else:
        shape = (max(1, round(shape[0] * resolution)), *shape[1:])
    dense = tuple(w(u, MAX_UNITS) for u in arch.dense)
    return canonical(replace(arch, input_shape=shape, blocks=blocks, dense=dense))


class GridStrategy(BaseStrategy):
    name = "grid"

    def __init__(self, space: SearchSpace, seed: int, widths: tuple[float, ...] = WIDTHS,
                 resolutions: tuple[float, ...] = RESOLUTIONS) -> None:
        super().__init__(space, seed)
        self.points = list(itertools.product(widths, resolutions))
        self._queue: list[Architecture] = []

    def ask(self) -> Architecture:
        while not self._queue:
            base = sample(self.space.input_shape, self.space.num_classes, self.rng,
                          self.space.config)
            scaled = (scale(base, w, r) for w, r in self.points)
            self._queue = [a for a in scaled if not problems(a)]
        return self._queue.pop(0)
