import numpy as np
import pytest
import torch

from tinynas.data import load_dataset
from tinynas.space import Architecture, Pooling
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig, train
from tinynas.train._loop import _lr_at, random_shift


def test_random_shift_translates_each_image_within_the_limit_and_shifts_in_zeros():
    x = torch.rand(64, 6, 5, 2) + 1.0  # no zero pixel in the input
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (0, 0, 2, 2, 2, 2))
    seen = set()
    for i in range(len(x)):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(out[i], padded[i, dy:dy + 6, dx:dx + 5])]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 10  # each image draws its own shift


def test_learning_rate_warms_up_linearly_then_decays_to_zero():
    rates = [_lr_at(step, 100, 10, 0.05) for step in range(100)]
    assert rates[0] == pytest.approx(0.005) and rates[9] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert rates[-1] < 1e-4


def test_training_with_flips_and_shifts_learns_digits():
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(8, 3, 1, batch_norm=True)),),
                        Pooling("avg", 2), ())
    config = TrainConfig(epochs=6, batch_size=64, shift_px=1)
    result = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                   device="cpu")
    assert result.val_accuracy > 0.8  # chance is 0.1
    again = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                  device="cpu")
    for a, b in zip(result.net.state_dict().values(), again.net.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy())  # seeded: the augmentation replays
