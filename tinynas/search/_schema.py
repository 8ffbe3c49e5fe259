"""The μNAS space as a define-by-run list of decisions, shared by the strategies that model
the decisions themselves (TPE in `bayes`, the REINFORCE controller in `rl`).

`MunasSchema.build(t)` asks `t` every decision in order (block count, then per block and layer
its type, kernel, channels, stride and flags, then pooling and dense layers) through optuna's
trial methods (`suggest_int`, `suggest_categorical`) and returns the architecture. `Recorder`
answers the same questions from an existing architecture and records each decision, so a
result told on resume, or one the strategy did not propose, becomes the decisions that would
have produced it. A schema of another space (the supernet's) has the same two methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tinynas.search._base import SearchSpace
from tinynas.space import GLOBAL_POOL_SIZE, Architecture, ConvBlock, ConvLayer, Pooling


class Schema(Protocol):
    def build(self, t: Any) -> Architecture:
        """The architecture `t`'s answers describe (t: an optuna trial, or any object with
        its `suggest_int` and `suggest_categorical`)."""

    def value(self, arch: Architecture, name: str) -> Any:
        """The answer `arch` gives to decision `name`."""


@dataclass(frozen=True)
class Decision:
    """One question of a schema and its answer: a choice among `choices`, or an integer in
    [low, high] (log-scaled when `log`)."""

    name: str
    value: Any
    choices: tuple[Any, ...] | None = None
    low: int = 0
    high: int = 0
    log: bool = False


class Recorder:
    """Answers a schema's questions from `arch` and records them in `decisions`."""

    def __init__(self, schema: Schema, arch: Architecture) -> None:
        self.schema, self.arch = schema, arch
        self.decisions: list[Decision] = []

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        value = min(max(int(self.schema.value(self.arch, name)), low), high)
        self.decisions.append(Decision(name, value, low=low, high=high, log=log))
        return value

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        value = self.schema.value(self.arch, name)
        self.decisions.append(Decision(name, value, choices=tuple(choices)))
        return value


def decisions_of(schema: Schema, arch: Architecture) -> list[Decision]:
    """The decisions that build `arch` under `schema`."""
    recorder = Recorder(schema, arch)
    schema.build(recorder)
    return recorder.decisions


class MunasSchema:
    """The μNAS template's decisions (module docstring), with the ranges of `space.config`."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def build(self, t: Any) -> Architecture:
        cfg = self.space.config
        blocks = []
        for i in range(t.suggest_int("blocks", 1, cfg.max_blocks)):
            layers = tuple(self._layer(t, f"b{i}l{j}")
                           for j in range(t.suggest_int(f"b{i}_layers", 1, cfg.max_layers)))
            parallel = i > 0 and t.suggest_categorical(f"b{i}_parallel", [False, True])
            blocks.append(ConvBlock(layers, parallel))
        pooling = None
        if t.suggest_categorical("pool", [False, True]):
            pool_type = t.suggest_categorical("pool_type", ["avg", "max", "global"])
            pooling = Pooling("global", GLOBAL_POOL_SIZE) if pool_type == "global" else (
                Pooling(pool_type, t.suggest_categorical("pool_size", [2, 4, 6])))
        dense = tuple(t.suggest_int(f"d{k}", cfg.min_units, cfg.max_units, log=True)
                      for k in range(t.suggest_int("dense", cfg.min_dense, cfg.max_dense)))
        return Architecture(self.space.input_shape, self.space.num_classes, tuple(blocks),
                            pooling, dense)

    def _layer(self, t: Any, p: str) -> ConvLayer:
        return ConvLayer(
            type=t.suggest_categorical(f"{p}_type", ["conv2d", "dwconv2d", "1x1conv2d"]),
            kernel_size=t.suggest_categorical(f"{p}_kernel", [3, 5, 7]),
            filters=t.suggest_int(f"{p}_filters", 1, self.space.config.max_filters, log=True),
            stride=t.suggest_categorical(f"{p}_stride", [1, 2]),
            batch_norm=t.suggest_categorical(f"{p}_bn", [False, True]),
            relu=t.suggest_categorical(f"{p}_relu", [True, False]),
            pre_pool=t.suggest_categorical(f"{p}_pre_pool", [False, True]),
        )

    def value(self, arch: Architecture, name: str) -> Any:
        a = arch
        if name == "blocks":
            return len(a.blocks)
        if name == "pool":
            return a.pooling is not None
        if name in ("pool_type", "pool_size"):
            return a.pooling.type if name == "pool_type" else a.pooling.size  # type: ignore[union-attr]
        if name == "dense":
            return len(a.dense)
        if name.startswith("d"):
            return a.dense[int(name[1:])]
        block_part, _, rest = name.partition("_")
        block = a.blocks[int(block_part[1:].split("l")[0])]
        if "l" not in block_part:
            return len(block.layers) if rest == "layers" else block.parallel
        layer = block.layers[int(block_part.split("l")[1])]
        key = {"type": "type", "kernel": "kernel_size", "filters": "filters", "stride": "stride",
               "bn": "batch_norm", "relu": "relu", "pre_pool": "pre_pool"}[rest]
        value = getattr(layer, key)
        if rest == "kernel" and value not in (3, 5, 7):
            value = 3  # a 1x1 layer's kernel is not a choice
        if rest == "filters":
            value = max(value, 1)  # a depthwise layer's channel count is not a choice
        return value
