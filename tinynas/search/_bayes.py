"""Bayesian optimisation: optuna's TPE over the architecture encoding.

Each candidate is a define-by-run optuna trial over the μNAS schema (block count, then per block
and layer its type, kernel, channels, stride and flags, then pooling and dense layers), so TPE
models the conditional structure. Rejected candidates are told to optuna as failed trials.
"""

from __future__ import annotations

from typing import Any

from tinynas.errors import SearchSpaceError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.space import (
    GLOBAL_POOL_SIZE,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
    problems,
)

VALID_TRIES = 100  # proposals per ask before giving up on the space


class BayesStrategy(BaseStrategy):
    name = "bayes"

    def __init__(self, space: SearchSpace, seed: int, startup_trials: int = 20) -> None:
        super().__init__(space, seed)
        import warnings

        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials,
                                             multivariate=True, group=True)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.pending: dict[str, list[Any]] = {}  # arch hash -> trials waiting for a result

    def ask(self) -> Architecture:
        for _ in range(VALID_TRIES):
            trial = self.study.ask()
            arch = canonical(self._suggest(trial))
            if not problems(arch):
                self.pending.setdefault(arch.content_hash, []).append(trial)
                return arch
            self.study.tell(trial, state=_failed())
        reason = problems(arch)[0]
        raise SearchSpaceError(
            f"TPE proposed no valid architecture in {VALID_TRIES} trials (the last: {reason}); "
            "check the data's input shape and class count, or choose another --strategy")

    def tell(self, arch: Architecture, score: float | None) -> None:
        trials = self.pending.pop(arch.content_hash, [])
        for trial in trials:
            if score is None:
                self.study.tell(trial, state=_failed())
            else:
                self.study.tell(trial, score)
        if not trials:  # a result replayed on resume: rebuild the trial from the architecture
            import optuna

            recorder = _Recorder(arch)
            self._suggest(recorder)
            complete = optuna.trial.TrialState.COMPLETE
            self.study.add_trial(optuna.trial.create_trial(
                params=recorder.params, distributions=recorder.distributions,
                value=score, state=complete if score is not None else _failed()))

    def _suggest(self, t: Any) -> Architecture:
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


def _failed() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL


class _Recorder:
    """Answers `_suggest`'s questions from an existing architecture, recording the optuna
    params and distributions a trial that proposed it would have had."""

    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, Any] = {}

    def _value(self, name: str) -> Any:
        a = self.arch
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

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        import optuna

        value = min(max(int(self._value(name)), low), high)
        self.params[name] = value
        self.distributions[name] = optuna.distributions.IntDistribution(low, high, log=log)
        return value

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        import optuna

        value = self._value(name)
        self.params[name] = value
        self.distributions[name] = optuna.distributions.CategoricalDistribution(choices)
        return value
