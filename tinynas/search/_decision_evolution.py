"""Once-for-All's evolutionary search over the schema's decisions (`--strategy ofa-evolution`).

Cai et al. (ICLR 2020) search a trained supernet's sub-networks with a simple evolution: a
population of 100, each generation's parents its best quarter, children made half by mutation
(each decision re-drawn with probability 0.1) and half by crossover (each decision taken from
one of two parents at random), children over the hardware constraint resampled. Here the same
operators work one candidate at a time behind ask/tell: after `population_size` random
candidates each ask is a mutation (probability `mutation_ratio`) or a crossover of parents drawn
from the best `parent_ratio` of the population; a scored candidate joins and the worst leaves
when the population is full; a rejected one (over budget) never joins. The operators act on a
schema's decisions (`tinynas.search.Schema`), so the strategy searches the μNAS space
(`MunasSchema`) or a supernet's sub-networks alike.

All state (the population) is rebuilt by `tell()`.
"""

from __future__ import annotations

import math
import random
from typing import Any

from tinynas.errors import SearchSpaceError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._schema import MunasSchema, Schema, decisions_of
from tinynas.space import Architecture, canonical, problems

POPULATION_SIZE = 100
PARENT_RATIO = 0.25
MUTATION_RATIO = 0.5
MUTATE_PROB = 0.1
VALID_TRIES = 100


class _Draw:
    """Answers a schema's questions: a parent's answer where `keep` says so, else uniformly."""

    def __init__(self, rng: random.Random, parents: list[dict[str, Any]],
                 keep_prob: float) -> None:
        self.rng, self.parents, self.keep_prob = rng, parents, keep_prob

    def _inherited(self, name: str) -> tuple[bool, Any]:
        if not self.parents or self.rng.random() >= self.keep_prob:
            return False, None
        parent = self.rng.choice(self.parents)  # crossover: either parent, per decision
        return (name in parent), parent.get(name)

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        kept, value = self._inherited(name)
        return value if kept and value in choices else self.rng.choice(choices)

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        kept, value = self._inherited(name)
        if kept and low <= value <= high:
            return int(value)
        if log and low > 0:
            return min(high, int(math.exp(self.rng.uniform(math.log(low), math.log(high + 1)))))
        return self.rng.randint(low, high)


class DecisionEvolutionStrategy(BaseStrategy):
    name = "ofa-evolution"

    def __init__(self, space: SearchSpace, seed: int, schema: Schema | None = None,
                 population_size: int = POPULATION_SIZE, parent_ratio: float = PARENT_RATIO,
                 mutation_ratio: float = MUTATION_RATIO, mutate_prob: float = MUTATE_PROB
                 ) -> None:
        super().__init__(space, seed)
        self.schema: Schema = schema if schema is not None else MunasSchema(space)
        self.population_size = population_size
        self.parent_ratio = parent_ratio
        self.mutation_ratio = mutation_ratio
        self.mutate_prob = mutate_prob
        self.population: list[tuple[float, int, Architecture]] = []  # score, order, arch
        self.told = 0

    def parents(self) -> list[Architecture]:
        """The best `parent_ratio` of the population (at least one member)."""
        best = sorted(self.population, key=lambda m: (-m[0], m[1]))
        return [arch for _, _, arch in best[:max(1, round(self.parent_ratio * len(best)))]]

    def ask(self) -> Architecture:
        for _ in range(VALID_TRIES):
            arch = canonical(self.schema.build(self._trial()))
            if not problems(arch):
                return arch
        raise SearchSpaceError(
            f"evolution proposed no valid architecture in {VALID_TRIES} tries (the last: "
            f"{problems(arch)[0]}); check the data's input shape and class count, or choose "
            "another --strategy")

    def _trial(self) -> _Draw:
        if self.told < self.population_size or not self.population:
            return _Draw(self.rng, [], 0.0)  # the random start
        parents = self.parents()
        if self.rng.random() < self.mutation_ratio:
            return _Draw(self.rng, [self._answers(self.rng.choice(parents))],
                         1 - self.mutate_prob)
        pair = [self.rng.choice(parents), self.rng.choice(parents)]
        return _Draw(self.rng, [self._answers(a) for a in pair], 1.0)

    def _answers(self, arch: Architecture) -> dict[str, Any]:
        return {d.name: d.value for d in decisions_of(self.schema, arch)}

    def tell(self, arch: Architecture, score: float | None) -> None:
        self.told += 1
        if score is None:
            return
        try:
            decisions_of(self.schema, arch)
        except (IndexError, KeyError, AttributeError, ValueError, TypeError):
            return  # not an architecture of this schema: it cannot be a parent
        self.population.append((score, self.told, arch))
        if len(self.population) > self.population_size:
            self.population.remove(min(self.population, key=lambda m: (m[0], -m[1])))
