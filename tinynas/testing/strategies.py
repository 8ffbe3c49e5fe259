"""``StrategyTestCase``: the behaviour every search strategy must have.

Like optuna's ``BasicSamplerTestCase``: a test class inherits the suite and supplies a
``strategy_factory`` fixture, a callable ``(space, seed) -> strategy`` (a fixture defined on the
class overrides the suite's)::

    class TestRandom(StrategyTestCase):
        @pytest.fixture
        def strategy_factory(self) -> StrategyFactory:
            return RandomStrategy

The suite drives strategies over :func:`small_space` (8x8x1 inputs, 10 classes, at most three
blocks of at most 16 channels) and tells them :func:`fake_score`, a deterministic function of
the architecture that rejects about one candidate in four, the way the estimators reject
candidates over budget. A strategy that changes the input's resolution (grid) overrides
:meth:`StrategyTestCase.expected_input_shapes`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tinynas.search import STRATEGIES, BaseStrategy, SearchSpace
from tinynas.space import Architecture, SpaceConfig, canonical, problems

StrategyFactory = Callable[[SearchSpace, int], BaseStrategy]
History = list[tuple[Architecture, "float | None"]]

INPUT_SHAPE = (8, 8, 1)
NUM_CLASSES = 10
SMALL_SPACE = SpaceConfig(max_blocks=3, max_filters=16, max_units=32)
ASKS = 8  # candidates per drive: enough to leave the random start of evolution and bayes


def small_space() -> SearchSpace:
    """8x8x1 inputs, 10 classes, :data:`SMALL_SPACE`'s ranges."""
    return SearchSpace(INPUT_SHAPE, NUM_CLASSES, SMALL_SPACE)


def fake_score(arch: Architecture) -> float | None:
    """A score in [0, 100) from the architecture's hash, or None (rejected) for about 1 in 4."""
    value = int(arch.content_hash, 16)
    return None if value % 4 == 0 else (value // 4) % 1000 / 10


def drive(strategy: BaseStrategy, asks: int = ASKS) -> History:
    """Asks `asks` candidates, telling each its :func:`fake_score`; the (arch, score) pairs."""
    history: History = []
    for _ in range(asks):
        arch = strategy.ask()
        score = fake_score(arch)
        strategy.tell(arch, score)
        history.append((arch, score))
    return history


def replay(strategy: BaseStrategy, history: History) -> BaseStrategy:
    """Tells `strategy` every stored result in order, as a resumed search does; returns it."""
    for arch, score in history:
        strategy.tell(arch, score)
    return strategy


class StrategyTestCase:
    """The contract of :class:`tinynas.search.BaseStrategy`; needs a ``strategy_factory``."""

    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        raise NotImplementedError("a StrategyTestCase needs a 'strategy_factory' fixture")

    @pytest.fixture
    def space(self) -> SearchSpace:
        return small_space()

    def expected_input_shapes(self, space: SearchSpace) -> set[tuple[int, ...]]:
        """The input shapes a candidate may have; the space's own unless overridden."""
        return {tuple(space.input_shape)}

    def assert_valid(self, arch: Architecture, space: SearchSpace) -> None:
        """`arch` is a valid, canonical candidate for `space`."""
        assert isinstance(arch, Architecture)
        assert problems(arch) == [], arch.to_json()
        assert canonical(arch) == arch
        assert tuple(arch.input_shape) in self.expected_input_shapes(space)
        assert arch.num_classes == space.num_classes

    def test_is_registered_under_its_name(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        strategy = strategy_factory(space, 0)
        assert strategy.name and STRATEGIES[strategy.name] is type(strategy)

    def test_asks_valid_canonical_architectures_of_the_space(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        for arch, _ in drive(strategy_factory(space, 0)):
            self.assert_valid(arch, space)

    def test_accepts_a_score_none_and_a_result_it_did_not_ask_for(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        strategy = strategy_factory(space, 0)
        strategy.tell(strategy.ask(), None)
        strategy.tell(strategy.ask(), 12.5)
        foreign = drive(strategy_factory(space, 99), 2)
        replay(strategy, [(foreign[0][0], 3.0), (foreign[1][0], None)])
        self.assert_valid(strategy.ask(), space)

    def test_the_same_seed_gives_the_same_sequence(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        first = drive(strategy_factory(space, 3))
        assert drive(strategy_factory(space, 3)) == first
        other = drive(strategy_factory(space, 4))
        assert [a for a, _ in other] != [a for a, _ in first]

    def test_a_replayed_strategy_keeps_working(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        history = drive(strategy_factory(space, 0))
        resumed = replay(strategy_factory(space, len(history)), history)
        for arch, _ in drive(resumed, 3):
            self.assert_valid(arch, space)

    def test_replay_is_deterministic(
        self, strategy_factory: StrategyFactory, space: SearchSpace
    ) -> None:
        history = drive(strategy_factory(space, 0))
        once = replay(strategy_factory(space, 5), history)
        again = replay(strategy_factory(space, 5), history)
        assert drive(once, 3) == drive(again, 3)
