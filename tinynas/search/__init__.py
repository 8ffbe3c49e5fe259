"""Search strategies behind one ask/tell interface, the Pareto front, and the shortlist rules.

The run that drives them (explore, shortlist, successive halving, final training, export) is
`tinynas.pipeline`.
"""

from __future__ import annotations

from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._bayes import BayesStrategy
from tinynas.search._capacity import CAPACITY_SAMPLES, capacity, capacity_picks, capacity_pool
from tinynas.search._compound import (
    MAX_STEPS,
    PHI_STEP,
    CompoundStrategy,
    Constants,
    binding_resource,
    compound_scale,
    deepen,
)
from tinynas.search._decision_evolution import DecisionEvolutionStrategy
from tinynas.search._evolution import EvolutionStrategy
from tinynas.search._fitting import sample_fitting
from tinynas.search._grid import GridStrategy
from tinynas.search._pareto import pareto_front
from tinynas.search._random import RandomStrategy
from tinynas.search._reinforce import ReinforceStrategy
from tinynas.search._schema import Decision, MunasSchema, Recorder, Schema, decisions_of
from tinynas.search._shortlist import diverse_shortlist, family, one_per_family_first
from tinynas.space import Architecture

STRATEGIES: dict[str, type[BaseStrategy]] = {
    "random": RandomStrategy,
    "evolution": EvolutionStrategy,
    "bayes": BayesStrategy,
    "grid": GridStrategy,
    "compound": CompoundStrategy,
    "rl": ReinforceStrategy,
    "ofa-evolution": DecisionEvolutionStrategy,
}


def get_strategy(name: str, space: SearchSpace, seed: int, device: Device | None = None,
                 budget: Budget | None = None, base: Architecture | None = None) -> BaseStrategy:
    """The strategy `name`; `compound` also takes the board, the budget its constraint is
    measured against, and an optional base network."""
    if name not in STRATEGIES:
        raise TinyNASError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "compound":
        return CompoundStrategy(space, seed, device=device, budget=budget, base=base)
    if base is not None:
        raise TinyNASError(f"--base is for --strategy compound, not {name}")
    return STRATEGIES[name](space, seed)


__all__ = [
    "CAPACITY_SAMPLES",
    "MAX_STEPS",
    "PHI_STEP",
    "STRATEGIES",
    "BaseStrategy",
    "BayesStrategy",
    "CompoundStrategy",
    "Constants",
    "Decision",
    "DecisionEvolutionStrategy",
    "EvolutionStrategy",
    "GridStrategy",
    "MunasSchema",
    "RandomStrategy",
    "Recorder",
    "ReinforceStrategy",
    "Schema",
    "SearchSpace",
    "binding_resource",
    "capacity",
    "capacity_picks",
    "capacity_pool",
    "compound_scale",
    "decisions_of",
    "deepen",
    "diverse_shortlist",
    "family",
    "get_strategy",
    "one_per_family_first",
    "pareto_front",
    "sample_fitting",
]
