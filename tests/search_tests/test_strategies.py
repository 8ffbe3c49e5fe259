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
    DecisionEvolutionStrategy,
    EvolutionStrategy,
    GridStrategy,
    RandomStrategy,
    ReinforceStrategy,
    SearchSpace,
)
from tinynas.search._grid import RESOLUTIONS, WIDTHS, scale
from tinynas.search._reinforce import int_options
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


class TestReinforce(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return ReinforceStrategy


class TestDecisionEvolution(StrategyTestCase):
    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        return partial(DecisionEvolutionStrategy, population_size=4)


def test_every_registered_strategy_runs_the_contract() -> None:
    tested = {TestRandom: RandomStrategy, TestEvolution: EvolutionStrategy,
              TestBayes: BayesStrategy, TestGrid: GridStrategy,
              TestCompound: CompoundStrategy, TestReinforce: ReinforceStrategy,
              TestDecisionEvolution: DecisionEvolutionStrategy}  # fmt: skip
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


# -- rl ---------------------------------------------------------------------------------------


def test_rl_integer_options_are_each_value_or_log_spaced_bins() -> None:
    assert int_options(1, 3, log=True) == [(1, 1), (2, 2), (3, 3)]
    # edges 32 ** (k / 8): 1.54, 2.38, 3.67, 5.66, 8.72, 13.5, 20.7, rounded up
    assert int_options(1, 32, log=True) == [(1, 1), (2, 2), (3, 3), (4, 5), (6, 8), (9, 13),
                                            (14, 20), (21, 32)]
    assert int_options(0, 15, log=False) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11),
                                             (12, 13), (14, 15)]


def test_rl_reward_is_the_rank_among_earlier_scores_and_zero_when_rejected() -> None:
    strategy = ReinforceStrategy(small_space(), 0)
    assert strategy.reward(3.0) == 0.5  # nothing to rank against yet
    strategy.scores = [1.0, 2.0, 2.0, 5.0]
    assert strategy.reward(2.0) == (1 + 0.5 * 2) / 4
    assert strategy.reward(9.0) == 1.0
    assert strategy.reward(0.5) == 0.0
    assert strategy.reward(None) == 0.0


def test_rl_learns_what_the_score_rewards() -> None:
    """Told a score that rewards more blocks and penalises dense layers, the controller's
    later proposals have more blocks and fewer dense layers than its first ones."""
    strategy = ReinforceStrategy(small_space(), 0, learning_rate=0.3)

    def score(arch: Architecture) -> float:
        return len(arch.blocks) - len(arch.dense) + 0.01 * (int(arch.content_hash, 16) % 7)

    proposals = []
    for _ in range(300):
        arch = strategy.ask()
        strategy.tell(arch, score(arch))
        proposals.append(arch)
    first = [score(a) for a in proposals[:50]]
    last = [score(a) for a in proposals[-50:]]
    assert sum(last) / 50 > sum(first) / 50 + 1.0
    blocks = strategy.probabilities(("blocks", 1, 3, False), 3)
    assert blocks[2] > 0.6  # three blocks, of 1 to 3
    assert strategy.report()["modes"]["blocks"] == 3


def test_rl_rebuilds_its_policy_from_told_results() -> None:
    """A replayed controller holds the live one's logits and baseline; a result it did not
    propose moves the policy towards that result's decisions."""
    live = ReinforceStrategy(small_space(), 0)
    history = drive(live, 20)
    resumed = replay(ReinforceStrategy(small_space(), 1), history)
    assert resumed.baseline == live.baseline
    assert resumed.logits.keys() == live.logits.keys()
    for key, logits in live.logits.items():
        assert list(resumed.logits[key]) == pytest.approx(list(logits))
    fresh = ReinforceStrategy(small_space(), 0)
    fresh.tell(history[0][0], 1.0)  # a first result: reward 0.5 = its own baseline
    arch = next(a for a, s in history[1:] if s is not None)
    before = fresh.probabilities(("blocks", 1, 3, False), 3)[len(arch.blocks) - 1]
    fresh.tell(arch, 2.0)  # better than everything before: positive advantage
    after = fresh.probabilities(("blocks", 1, 3, False), 3)[len(arch.blocks) - 1]
    assert after > before


def test_ofa_evolution_keeps_the_best_and_breeds_from_them() -> None:
    strategy = DecisionEvolutionStrategy(small_space(), 0, population_size=6)
    history = [(a, distinct_score(a)) for a, _ in drive(RandomStrategy(small_space(), 3), 10)]
    replay(strategy, history)
    kept = sorted(s for _, s in history)[-6:]
    assert sorted(s for s, _, _ in strategy.population) == kept
    parents = strategy.parents()  # the best quarter of 6, rounded: 2
    assert [distinct_score(a) for a in parents] == sorted(kept, reverse=True)[:2]
    # a child shares most decisions with a parent
    answers = [strategy._answers(p) for p in parents]
    child = strategy._answers(strategy.ask())
    shared = max(sum(child.get(k) == v for k, v in a.items()) / len(a) for a in answers)
    assert shared >= 0.5


def test_ofa_evolution_climbs_past_random() -> None:
    def score(arch: Architecture) -> float:
        return len(arch.blocks) - len(arch.dense) + 0.01 * (int(arch.content_hash, 16) % 7)

    means = {}
    for name, strategy in (("evo", DecisionEvolutionStrategy(small_space(), 0,
                                                            population_size=20)),
                           ("random", RandomStrategy(small_space(), 0))):
        got = []
        for _ in range(200):
            arch = strategy.ask()
            strategy.tell(arch, score(arch))
            got.append(score(arch))
        means[name] = sum(got[-50:]) / 50
    assert means["evo"] > means["random"] + 1.0


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
