"""Random search: the seed thesis's Algorithm 1 (sample N, keep the best)."""

from __future__ import annotations

from tinynas.search._base import BaseStrategy
from tinynas.space import Architecture, sample


class RandomStrategy(BaseStrategy):
    """Independent seeded samples of the space; the loop keeps the best score."""

    name = "random"

    def ask(self) -> Architecture:
        return sample(self.space.input_shape, self.space.num_classes, self.rng, self.space.config)
