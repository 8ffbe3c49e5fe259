"""Search strategies behind one ask/tell interface, the Pareto front, and the shortlist rules.

The run that drives them (explore, shortlist, successive halving, final training, export) is
`tinynas.pipeline`.
"""

from __future__ import annotations

from tinynas.errors import TinyNASError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._bayes import BayesStrategy
from tinynas.search._capacity import CAPACITY_SAMPLES, capacity, capacity_picks, capacity_pool
from tinynas.search._evolution import EvolutionStrategy
from tinynas.search._fitting import sample_fitting
from tinynas.search._grid import GridStrategy
from tinynas.search._pareto import pareto_front
from tinynas.search._random import RandomStrategy
from tinynas.search._shortlist import diverse_shortlist, family, one_per_family_first

STRATEGIES: dict[str, type[BaseStrategy]] = {
    "random": RandomStrategy,
    "evolution": EvolutionStrategy,
    "bayes": BayesStrategy,
    "grid": GridStrategy,
}


def get_strategy(name: str, space: SearchSpace, seed: int) -> BaseStrategy:
    if name not in STRATEGIES:
        raise TinyNASError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name](space, seed)


__all__ = [
    "CAPACITY_SAMPLES",
    "STRATEGIES",
    "BaseStrategy",
    "BayesStrategy",
    "EvolutionStrategy",
    "GridStrategy",
    "RandomStrategy",
    "SearchSpace",
    "capacity",
    "capacity_picks",
    "capacity_pool",
    "diverse_shortlist",
    "family",
    "get_strategy",
    "one_per_family_first",
    "pareto_front",
    "sample_fitting",
]
