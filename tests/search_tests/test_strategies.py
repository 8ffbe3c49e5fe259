"""Every search strategy passes the StrategyTestCase contract; then what each one promises."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from functools import partial

import pytest

from tinynas.errors import TinyNASError
from tinynas.search import (
    STRATEGIES,
    BayesStrategy,
    CompoundStrategy,
    EvolutionStrategy,
    GridStrategy,
    RandomStrategy,
    SearchSpace,
)
from tinynas.search._grid import RESOLUTIONS, WIDTHS, scale
from tinynas.space import (
    MORPHISMS,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
    sample,
)
from tinynas.testing.strategies import (
    INPUT_SHAPE,
    NUM_CLASSES,
    SMALL_SPACE,
    StrategyFactory,
    StrategyTestCase,
    drive,
    replay,
    small_space,
)

Calls = list[tuple[Architecture, "Architecture | None"]]


def distinct_score(arch: Architecture) -> float:
    """A score for every candidate (none rejected), ties practically impossible."""
    return float(int(arch.content_hash, 16) % 10**6)


class TestRandom(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return RandomStrategy


class TestEvolution(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return partial(EvolutionStrategy, population_size=4, sample_size=2)


class TestBayes(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return partial(BayesStrategy, startup_trials=4)


class TestGrid(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return GridStrategy

    def expected_input_shapes(self, space: SearchSpace) -> set[tuple[int, ...]]:
        assert space.input_shape == (8, 8, 1)
        return {(4, 4, 1), (6, 6, 1), (8, 8, 1)}  # 8 x 0.5, 0.75 and 1.0


class TestCompound(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return partial(CompoundStrategy, explore=4)  # no budget: every limit is unset

    def expected_input_shapes(self, space: SearchSpace) -> set[tuple[int, ...]]:
        assert space.input_shape == (8, 8, 1)
        return {(n, n, 1) for n in range(8, 1000)}  # resolution only grows


def test_every_registered_strategy_runs_the_contract() -> None:
    tested = {TestRandom: RandomStrategy, TestEvolution: EvolutionStrategy,
              TestBayes: BayesStrategy, TestGrid: GridStrategy,
              TestCompound: CompoundStrategy}  # fmt: skip
    assert sorted(STRATEGIES.values(), key=str) == sorted(tested.values(), key=str)


# -- evolution -------------------------------------------------------------------------------


@pytest.fixture
def morphism_calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Every morphism call `mutate` makes, as (input, output), while the test runs."""
    calls: Calls = []

    def spy(morphism: Callable[..., Architecture | None]) -> Callable[..., Architecture | None]:
        def recorded(arch: Architecture, rng: random.Random) -> Architecture | None:
            out = morphism(arch, rng)
            calls.append((arch, out))
            return out

        return recorded

    for name, morphism in list(MORPHISMS.items()):
        monkeypatch.setitem(MORPHISMS, name, spy(morphism))
    return calls


def test_evolution_population_ages_oldest_leaves_and_rejected_never_join() -> None:
    archs = [a for a, _ in drive(RandomStrategy(small_space(), 0), 7)]
    strategy = EvolutionStrategy(small_space(), 0, population_size=3)
    scores = [1.0, None, 2.0, 3.0, None, 4.0, 0.5]
    sizes = []
    for arch, score in zip(archs, scores):
        strategy.tell(arch, score)
        sizes.append(len(strategy.population))
    assert sizes == [1, 1, 2, 3, 3, 3, 3]
    assert list(strategy.population) == [(archs[3], 3.0), (archs[5], 4.0), (archs[6], 0.5)]
    assert strategy.told == 7


def test_evolution_children_are_one_morphism_from_a_member(morphism_calls: Calls) -> None:
    strategy = EvolutionStrategy(small_space(), 0, population_size=4, sample_size=2)
    for _ in range(4):  # the random start mutates nothing
        arch = strategy.ask()
        strategy.tell(arch, distinct_score(arch))
    assert morphism_calls == []
    for _ in range(10):
        members = [a for a, _ in strategy.population]
        morphism_calls.clear()
        child = strategy.ask()
        parents = {parent for parent, _ in morphism_calls}
        assert len(parents) == 1 and parents <= set(members)
        last_parent, last_out = morphism_calls[-1]
        assert last_out is not None and canonical(last_out) == child != last_parent
        strategy.tell(child, distinct_score(child))
        assert len(strategy.population) == 4


def test_evolution_parent_is_the_best_when_the_whole_population_is_sampled(
    morphism_calls: Calls,
) -> None:
    strategy = EvolutionStrategy(small_space(), 1, population_size=4, sample_size=4)
    for _ in range(12):
        best = max(strategy.population, key=lambda p: p[1])[0] if strategy.population else None
        morphism_calls.clear()
        child = strategy.ask()
        if strategy.told >= 4:
            assert {parent for parent, _ in morphism_calls} == {best}
        strategy.tell(child, distinct_score(child))


def test_a_replayed_evolution_continues_in_the_phase_it_was_in(morphism_calls: Calls) -> None:
    """Six results, three rejected: the population (3) is not full but the random start (4)
    is over, so the next candidate is a mutation, with or without a kill in between."""
    original = EvolutionStrategy(small_space(), 0, population_size=4, sample_size=2)
    history = []
    for score in (5.0, None, 6.0, None, 7.0, None):
        arch = original.ask()
        original.tell(arch, score)
        history.append((arch, score))
    resumed = replay(EvolutionStrategy(small_space(), 6, population_size=4, sample_size=2),
                     history)  # fmt: skip
    assert list(resumed.population) == list(original.population)
    for strategy in (original, resumed):
        morphism_calls.clear()
        strategy.ask()
        assert morphism_calls and morphism_calls[0][0] in {a for a, _ in strategy.population}


# -- bayes ------------------------------------------------------------------------------------


def test_bayes_tells_the_trial_that_proposed_the_candidate() -> None:
    optuna = pytest.importorskip("optuna")
    strategy = BayesStrategy(small_space(), 0, startup_trials=2)
    strategy.tell(strategy.ask(), 7.5)
    strategy.tell(strategy.ask(), None)
    state = optuna.trial.TrialState
    assert [(t.state, t.value) for t in strategy.study.trials] == [
        (state.COMPLETE, 7.5), (state.FAIL, None)]  # fmt: skip
    assert strategy.pending == {}


def test_bayes_rebuilds_trials_with_their_params_on_replay() -> None:
    optuna = pytest.importorskip("optuna")
    history = drive(RandomStrategy(small_space(), 2), 6)
    strategy = replay(BayesStrategy(small_space(), 0), history)
    trials = strategy.study.trials
    assert len(trials) == len(history)
    for trial, (arch, score) in zip(trials, history):
        complete = optuna.trial.TrialState.COMPLETE
        assert (trial.state, trial.value) == (
            (complete, score) if score is not None else (optuna.trial.TrialState.FAIL, None))
        assert trial.params["blocks"] == len(arch.blocks)
        assert set(trial.params) == set(trial.distributions)
        assert canonical(strategy._suggest(optuna.trial.FixedTrial(trial.params))) == arch


def test_bayes_says_clearly_when_no_proposal_is_valid() -> None:
    strategy = BayesStrategy(SearchSpace(INPUT_SHAPE, 1, SMALL_SPACE), 0)
    with pytest.raises(TinyNASError, match="no valid architecture.*num_classes is 1"):
        strategy.ask()


# -- grid -------------------------------------------------------------------------------------


def _net(shape: tuple[int, ...]) -> Architecture:
    layers = (ConvLayer("conv2d", 3, 16), ConvLayer("dwconv2d", 5, 0, stride=2),
              ConvLayer("1x1conv2d", 1, 8))  # fmt: skip
    return Architecture(shape, NUM_CLASSES, (ConvBlock(layers), ConvBlock(
        (ConvLayer("conv2d", 3, 100), ConvLayer("conv2d", 3, 2)), parallel=True)),
        Pooling("avg", 2), (40, 200))  # fmt: skip


def _widths(arch: Architecture) -> list[list[int]]:
    return [[layer.filters for layer in block.layers] for block in arch.blocks]


@pytest.mark.parametrize(
    ("width", "resolution", "shape", "filters", "dense"),
    [
        (1.0, 1.0, (28, 28, 1), [[16, 0, 8], [100, 2]], (40, 200)),
        (0.75, 0.5, (14, 14, 1), [[12, 0, 6], [75, 2]], (30, 150)),
        (0.25, 1.0, (28, 28, 1), [[4, 0, 2], [25, 1]], (10, 50)),  # 2 x 0.25 -> at least 1
        (2.0, 0.75, (21, 21, 1), [[32, 0, 16], [128, 4]], (80, 256)),  # capped at 128 and 256
    ],
)
def test_grid_scales_widths_and_resolution(
    width: float, resolution: float, shape: tuple[int, ...], filters: list[list[int]],
    dense: tuple[int, ...],
) -> None:  # fmt: skip
    scaled = scale(_net((28, 28, 1)), width, resolution)
    assert (scaled.input_shape, _widths(scaled), scaled.dense) == (shape, filters, dense)
    assert [b.parallel for b in scaled.blocks] == [False, True]
    assert scaled.pooling == Pooling("avg", 2) and scaled == canonical(scaled)


def test_grid_scales_sequence_lengths_but_not_channels() -> None:
    assert scale(_net((100, 3)), 1.0, 0.5).input_shape == (50, 3)
    assert scale(_net((64,)), 1.0, 0.75).input_shape == (48,)


def test_grid_walks_the_whole_grid_of_one_base_then_draws_the_next() -> None:
    rng = random.Random(5)
    bases = [sample(INPUT_SHAPE, NUM_CLASSES, rng, SMALL_SPACE) for _ in range(2)]
    points = list(itertools.product(WIDTHS, RESOLUTIONS))
    strategy = GridStrategy(small_space(), 5)
    asked = [strategy.ask() for _ in range(len(points) + 1)]
    assert asked[:-1] == [scale(bases[0], w, r) for w, r in points]
    assert asked[-1] == scale(bases[1], *points[0])
