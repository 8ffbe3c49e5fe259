"""Aging evolution (Real et al. 2019) with the μNAS morphisms.

The first `population_size` candidates are random samples. After that each candidate is a
mutation of the best of `sample_size` members drawn from the population; every scored
candidate joins the population and the oldest leaves (μNAS: population 100, sample 25).
Rejected candidates (over budget) never join, but they count towards the random start.

All state is rebuilt by `tell()` (the population and the number of results told), so a
strategy told the stored results on resume continues in the phase the killed one was in.
"""

from __future__ import annotations

from collections import deque

from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.space import Architecture, mutate, sample


class EvolutionStrategy(BaseStrategy):
    name = "evolution"

    def __init__(self, space: SearchSpace, seed: int, population_size: int = 100,
                 sample_size: int = 25) -> None:
        super().__init__(space, seed)
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque[tuple[Architecture, float]] = deque()
        self.told = 0  # results told, rejected ones included

    def ask(self) -> Architecture:
        if len(self.population) < self.population_size and self.told < self.population_size:
            return sample(self.space.input_shape, self.space.num_classes, self.rng,
                          self.space.config)
        if not self.population:  # nothing fit yet: keep exploring
            return sample(self.space.input_shape, self.space.num_classes, self.rng,
                          self.space.config)
        k = min(self.sample_size, len(self.population))
        contenders = self.rng.sample(list(self.population), k)
        parent = max(contenders, key=lambda p: p[1])[0]
        return mutate(parent, self.rng)

    def tell(self, arch: Architecture, score: float | None) -> None:
        self.told += 1
        if score is None:
            return
        self.population.append((arch, score))
        if len(self.population) > self.population_size:
            self.population.popleft()
