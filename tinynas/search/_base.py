"""The strategy interface: ask for a candidate, tell its result.

Lifecycle: the search loop creates a strategy with the search space and a seed. It then calls
`ask()` for the next candidate, evaluates it (the estimators reject it when it is over budget,
else a trainingless metric scores it) and calls `tell(arch, score)` with the score, or with
None for a rejected candidate. On `--resume` the loop first replays every stored result through
`tell()` in the order it was evaluated, so a strategy keeps no state that `tell()` cannot rebuild.
"""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass, field
from typing import Any

from tinynas.space import Architecture, SpaceConfig


@dataclass(frozen=True)
class SearchSpace:
    """What candidates look like: the data's input shape, the class count, sampling ranges."""

    input_shape: tuple[int, ...]
    num_classes: int
    config: SpaceConfig = field(default_factory=SpaceConfig)


class BaseStrategy(abc.ABC):
    """A search strategy (see the module docstring for the call lifecycle)."""

    name: str = ""

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)

    @abc.abstractmethod
    def ask(self) -> Architecture:
        """The next candidate to evaluate."""

    def tell(self, arch: Architecture, score: float | None) -> None:
        """The result of a candidate: its score (higher is better), None when rejected."""
        return None

    def report(self) -> dict[str, Any] | None:
        """What the strategy found that a run should keep (kept in its store), or None."""
        return None
