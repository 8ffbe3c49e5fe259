"""Progressive shrinking: what each phase samples, a training that learns, a resumed training
equal to an uninterrupted one, and recalibrated sub-networks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from tinynas.data import load_dataset
from tinynas.metrics import MetricError
from tinynas.space import Architecture
from tinynas.supernet import (
    PHASES,
    SupernetMetric,
    SupernetRecipe,
    SupernetSpace,
    recalibrate,
    sample_config,
    subnet_architecture,
    train_supernet,
)

SPACE = SupernetSpace((8, 8, 1), 10, widths=((8, 16), (16, 32)), depths=(1, 2))
RECIPE = SupernetRecipe(epochs_per_phase=2, batch_size=128)


def test_each_phase_lets_one_more_dimension_in() -> None:
    rng = random.Random(0)
    draws = {phase: [sample_config(SPACE, phase, rng) for _ in range(40)] for phase in PHASES}
    assert all(c == SPACE.largest for c in draws["largest"])
    kernel = draws["kernel"]
    assert all(c.depths == (2, 2) and c.widths == (16, 32) for c in kernel)
    assert len({c.kernels for c in kernel}) > 1
    depth = draws["depth"]
    assert all(c.widths == (16, 32) for c in depth) and len({c.depths for c in depth}) > 1
    assert len({c.widths for c in draws["width"]}) > 1
    for c in draws["width"]:
        c.check(SPACE)


class Stop(Exception):
    pass


@pytest.mark.train
def test_a_resumed_training_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    ds = load_dataset("digits")
    x, y = ds.x_train[:512], ds.y_train[:512]
    whole = train_supernet(SPACE, x, y, RECIPE)

    def stop_in_depth(phase: str, epoch: int, seconds: float) -> None:
        if phase == "depth" and epoch == 0:
            raise Stop

    checkpoint = tmp_path / "supernet.pt"
    with pytest.raises(Stop):
        train_supernet(SPACE, x, y, RECIPE, checkpoint, on_epoch=stop_in_depth)
    assert torch.load(checkpoint, weights_only=False)["phase"] == PHASES.index("depth")
    resumed = train_supernet(SPACE, x, y, RECIPE, checkpoint)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.train
def test_the_trained_supernet_s_subnets_learn_after_recalibration() -> None:
    """...and the `supernet` ranker scores a sub-network by exactly that accuracy."""
    ds = load_dataset("digits")
    net = train_supernet(SPACE, ds.x_train[:800], ds.y_train[:800],
                         SupernetRecipe(epochs_per_phase=3, batch_size=64))
    x_test, y_test = torch.as_tensor(ds.x_test), torch.as_tensor(ds.y_test)
    smallest = sample_config(SPACE, "width", random.Random(3))
    ranker = SupernetMetric(net, ds.x_train, ds.x_test, ds.y_test)
    for config in (SPACE.largest, smallest):
        sub = recalibrate(net, config, ds.x_train)
        with torch.no_grad():
            accuracy = float((sub(x_test).argmax(1) == y_test).float().mean())
        assert accuracy > 0.5, (config, accuracy)  # chance is 0.1
        assert ranker.score(subnet_architecture(SPACE, config)) == pytest.approx(accuracy)
    other = Architecture((8, 8, 1), 10, (), None, (10,))
    with pytest.raises(MetricError, match="only the supernet's own sub-networks"):
        ranker.score(other)
    sub = recalibrate(net, SPACE.largest, ds.x_train, images=300)
    bn = sub.layers["b0l0"][1]
    assert int(bn.num_batches_tracked) == 2  # 300 images in batches of 256
