"""A REINFORCE controller over the schema's decisions (`--strategy rl`).

Zoph & Le (ICLR 2017) train a controller that emits an architecture's decisions one after
another and update it with REINFORCE (Williams, 1992): the gradient of the log-probability of
the decisions made, times the reward less a baseline, the baseline an exponential moving average
of the rewards (ENAS, Pham et al., ICML 2018). The controller here is the smallest such policy:
one softmax per decision of the schema (as ProxylessNAS's REINFORCE variant, Cai et al., ICLR
2019), whose logits l move by the exact gradient

    d log softmax(l)[a] / d l = onehot(a) - softmax(l),

plus a small entropy bonus (ENAS adds one too) so that the policy keeps exploring.

A trainingless score has no fixed scale, so the reward is the score's rank among the scores told
before it, in [0, 1] (ties count half); a candidate over the board's budget is told None and
gets 0, the hard constraint of the board. Integer decisions with many values (channels, dense
units) are chosen among BINS log-spaced (or even) bins, the value then drawn inside its bin.

All state (logits, baseline, scores told) is rebuilt by `tell()`: a told architecture's
decisions are read back from it (`Recorder`), so a result replayed on resume, or one this
strategy did not propose, updates the policy exactly as a proposed one does.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from tinynas.errors import SearchSpaceError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._schema import Decision, MunasSchema, Schema, decisions_of
from tinynas.space import Architecture, canonical, problems

LEARNING_RATE = 0.1
BASELINE_DECAY = 0.95
ENTROPY_WEIGHT = 0.02
BINS = 8  # options of an integer decision with more values than this
VALID_TRIES = 100


def int_options(low: int, high: int, log: bool) -> list[tuple[int, int]]:
    """The [first, last] ranges an integer decision chooses among: each value when there are
    at most BINS, else BINS bins with log-spaced (or even) edges."""
    if high - low + 1 <= BINS:
        return [(v, v) for v in range(low, high + 1)]
    if log:
        edges = [low * (high / low) ** (k / BINS) for k in range(BINS + 1)]
    else:
        edges = [low + (high - low) * k / BINS for k in range(BINS + 1)]
    cuts = sorted({low, *(math.ceil(e) for e in edges[1:-1]), high + 1})
    return [(a, b - 1) for a, b in zip(cuts, cuts[1:])]


def option_index(decision: Decision) -> tuple[tuple[Any, ...], int]:
    """The policy's key for `decision` and the option its value falls in (ValueError when the
    value is none of them)."""
    key: tuple[Any, ...]
    if decision.choices is not None:
        key = (decision.name, decision.choices)
        return key, list(decision.choices).index(decision.value)
    ranges = int_options(decision.low, decision.high, decision.log)
    key = (decision.name, decision.low, decision.high, decision.log)
    for i, (first, last) in enumerate(ranges):
        if first <= decision.value <= last:
            return key, i
    raise ValueError(f"{decision.value} outside [{decision.low}, {decision.high}]")


class _PolicyTrial:
    """Answers a schema's questions by drawing from the strategy's policy."""

    def __init__(self, strategy: ReinforceStrategy) -> None:
        self.strategy = strategy

    def _draw(self, key: tuple[Any, ...], n: int) -> int:
        p = self.strategy.probabilities(key, n)
        return int(self.strategy.np_rng.choice(n, p=p))

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return choices[self._draw((name, tuple(choices)), len(choices))]

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        ranges = int_options(low, high, log)
        first, last = ranges[self._draw((name, low, high, log), len(ranges))]
        if first == last:
            return first
        rng = self.strategy.rng
        if log:
            return min(last, int(math.exp(rng.uniform(math.log(first), math.log(last + 1)))))
        return rng.randint(first, last)


class ReinforceStrategy(BaseStrategy):
    name = "rl"

    def __init__(self, space: SearchSpace, seed: int, schema: Schema | None = None,
                 learning_rate: float = LEARNING_RATE) -> None:
        super().__init__(space, seed)
        self.schema: Schema = schema if schema is not None else MunasSchema(space)
        self.learning_rate = learning_rate
        self.np_rng = np.random.default_rng(seed)
        self.logits: dict[tuple[Any, ...], np.ndarray] = {}
        self.scores: list[float] = []  # every score told, sorted
        self.baseline: float | None = None
        self.told = 0

    def probabilities(self, key: tuple[Any, ...], n: int) -> np.ndarray:
        logits = self.logits.setdefault(key, np.zeros(n))
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def ask(self) -> Architecture:
        for _ in range(VALID_TRIES):
            arch = canonical(self.schema.build(_PolicyTrial(self)))
            if not problems(arch):
                return arch
        raise SearchSpaceError(
            f"the controller proposed no valid architecture in {VALID_TRIES} tries (the last: "
            f"{problems(arch)[0]}); check the data's input shape and class count, or choose "
            "another --strategy")

    def reward(self, score: float | None) -> float:
        """The rank of `score` among the scores told before it (module docstring)."""
        if score is None:
            return 0.0
        if not self.scores:
            return 0.5
        below = bisect.bisect_left(self.scores, score)
        ties = bisect.bisect_right(self.scores, score) - below
        return (below + 0.5 * ties) / len(self.scores)

    def tell(self, arch: Architecture, score: float | None) -> None:
        self.told += 1
        reward = self.reward(score)
        if score is not None:
            bisect.insort(self.scores, score)
        baseline = reward if self.baseline is None else self.baseline
        advantage = reward - baseline
        self.baseline = BASELINE_DECAY * baseline + (1 - BASELINE_DECAY) * reward
        try:
            decisions = decisions_of(self.schema, arch)
        except (IndexError, KeyError, AttributeError, ValueError, TypeError):
            return  # not an architecture of this schema: its score still ranks later ones
        for decision in decisions:
            try:
                key, index = option_index(decision)
            except ValueError:
                continue
            n = len(key[1]) if decision.choices is not None else len(
                int_options(decision.low, decision.high, decision.log))
            p = self.probabilities(key, n)
            grad = -p.copy()
            grad[index] += 1.0
            entropy = -float(np.sum(p * np.log(p)))
            entropy_grad = -p * (np.log(p) + entropy)
            self.logits[key] = self.logits[key] + self.learning_rate * (
                advantage * grad + ENTROPY_WEIGHT * entropy_grad)

    def report(self) -> dict[str, Any] | None:
        """The baseline, and each decision's most likely option under the learned policy."""
        if self.baseline is None:
            return None
        modes: dict[str, Any] = {}
        for key, logits in sorted(self.logits.items(), key=lambda kv: str(kv[0])):
            best = int(np.argmax(logits))
            if isinstance(key[1], tuple):
                modes[key[0]] = key[1][best]
            else:
                first, last = int_options(*key[1:])[best]
                modes[key[0]] = first if first == last else [first, last]
        return {"baseline": self.baseline, "told": self.told, "modes": modes}
