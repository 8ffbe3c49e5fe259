"""Bayesian optimisation: optuna's TPE over the architecture encoding.

Each candidate is a define-by-run optuna trial over the μNAS schema (`MunasSchema`: block
count, then per block and layer its type, kernel, channels, stride and flags, then pooling and
dense layers), so TPE models the conditional structure. Rejected candidates are told to optuna
as failed trials.
"""

from __future__ import annotations

from typing import Any

from tinynas.errors import SearchSpaceError
from tinynas.search._base import BaseStrategy, SearchSpace
from tinynas.search._schema import Decision, MunasSchema, decisions_of
from tinynas.space import Architecture, canonical, problems

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
        self.schema = MunasSchema(space)
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

            params, distributions = _optuna_trial_args(decisions_of(self.schema, arch))
            complete = optuna.trial.TrialState.COMPLETE
            self.study.add_trial(optuna.trial.create_trial(
                params=params, distributions=distributions,
                value=score, state=complete if score is not None else _failed()))

    def _suggest(self, t: Any) -> Architecture:
        return self.schema.build(t)


def _failed() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL


def _optuna_trial_args(decisions: list[Decision]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The params and distributions of an optuna trial that made `decisions`."""
    import optuna

    dists = optuna.distributions
    params = {d.name: d.value for d in decisions}
    distributions = {
        d.name: dists.CategoricalDistribution(d.choices) if d.choices is not None
        else dists.IntDistribution(d.low, d.high, log=d.log) for d in decisions}
    return params, distributions
