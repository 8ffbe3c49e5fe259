"""Search strategies behind one ask/tell interface, constraints, and the Pareto front."""

from __future__ import annotations

from tinynas.errors import TinyNASError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._bayes import BayesStrategy
from tinynas.search._constraints import Budget
from tinynas.search._evolution import EvolutionStrategy
from tinynas.search._grid import GridStrategy
from tinynas.search._pareto import pareto_front
from tinynas.search._random import RandomStrategy

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
    "STRATEGIES",
    "BaseStrategy",
    "BayesStrategy",
    "Budget",
    "EvolutionStrategy",
    "GridStrategy",
    "RandomStrategy",
    "SearchSpace",
    "get_strategy",
    "pareto_front",
]
