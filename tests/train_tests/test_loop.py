import numpy as np
import pytest
import torch

from tinynas.data import load_dataset
from tinynas.space import Architecture, Pooling
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig, train
from tinynas.train._loop import (
    SoftTargets,
    _DistillTargets,
    _WeightAverage,
    lr_at,
    random_erase,
)


def test_random_erase_zeroes_one_rectangle_in_about_p_of_the_images():
    x = torch.rand(4000, 12, 10, 2) + 1.0  # no zero pixel in the input
    out = random_erase(x, 0.5, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    zero = out == 0
    assert torch.equal(zero[..., 0], zero[..., 1])  # every channel of a pixel erased together
    erased = zero[..., 0].any(dim=(1, 2))
    assert 0.45 < erased.float().mean() < 0.55
    assert torch.equal(out[~zero], x[~zero])  # the rest is untouched
    areas = []
    for i in torch.nonzero(erased).flatten().tolist():
        rows = torch.nonzero(zero[i, :, :, 0].any(dim=1)).flatten()
        cols = torch.nonzero(zero[i, :, :, 0].any(dim=0)).flatten()
        box = zero[i, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1, 0]
        assert bool(box.all())  # one filled rectangle, nothing outside it
        assert int(zero[i, :, :, 0].sum()) == box.numel()
        areas.append(box.numel() / (12 * 10))
    assert min(areas) > 0.0 and max(areas) <= 0.5  # 2%-40% of the area, rounded to pixels
    assert 0.15 < sum(areas) / len(areas) < 0.3  # uniform in [0.02, 0.4]: mean 0.21


@pytest.mark.train
def test_label_smoothing_changes_the_loss_but_not_the_data_order():
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(4, 3, 1)),), None, ())
    plain = TrainConfig(epochs=1, batch_size=64)
    smooth = TrainConfig(epochs=1, batch_size=64, label_smoothing=0.1)
    a = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, plain, seed=0, device="cpu")
    b = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, smooth, seed=0, device="cpu")
    again = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, smooth, seed=0,
                  device="cpu")
    weights = [list(r.net.state_dict().values()) for r in (a, b, again)]
    assert any(not torch.allclose(x, y) for x, y in zip(weights[0], weights[1]))
    assert all(torch.equal(x, y) for x, y in zip(weights[1], weights[2]))


def test_weight_average_follows_the_ramped_decay_and_copies_counters():
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.fill_(0.0)
    average = _WeightAverage(net, decay=0.5)
    expected = 0.0
    for t, value in enumerate([1.0, 2.0, 4.0, 8.0]):
        with torch.no_grad():
            net[0].weight.fill_(value)
        net[1].num_batches_tracked += 1
        average.update()
        d = min(0.5, (1 + t) / (10 + t))  # 0.1, 0.18..., then capped at 0.5
        expected = d * expected + (1 - d) * value
    target = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    average.copy_to(target)
    assert torch.allclose(target[0].weight, torch.full((1, 2), expected))
    assert expected != pytest.approx(8.0)  # the average, not the last weights
    assert int(target[1].num_batches_tracked) == 4


@pytest.mark.train
def test_training_with_weight_average_returns_the_average_and_still_learns():
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(8, 3, 1, batch_norm=True)),),
                        Pooling("avg", 2), ())
    plain = TrainConfig(epochs=6, batch_size=64)
    averaged = TrainConfig(epochs=6, batch_size=64, ema_decay=0.99)
    a = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, plain, seed=0, device="cpu")
    b = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, averaged, seed=0,
              device="cpu")
    assert b.val_accuracy > 0.8  # chance is 0.1
    # the same data order and updates, but the weights returned are the average
    assert any(not torch.allclose(x, y)
               for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values()))


@pytest.mark.train
def test_distillation_learns_from_the_teacher_when_the_labels_are_wrong():
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(8, 3, 1, batch_norm=True)),),
                        Pooling("avg", 2), ())
    wrong = np.random.default_rng(0).permutation(ds.y_train)  # labels that teach nothing
    teacher = SoftTargets(np.eye(ds.num_classes, dtype=np.float32)[ds.y_train] * 8.0)
    hard = TrainConfig(epochs=6, batch_size=64)
    soft = TrainConfig(epochs=6, batch_size=64, distill_weight=1.0)
    a = train(arch, ds.x_train, wrong, ds.x_test, ds.y_test, hard, seed=0, device="cpu",
              soft=teacher)
    b = train(arch, ds.x_train, wrong, ds.x_test, ds.y_test, soft, seed=0, device="cpu",
              soft=teacher)
    assert a.val_accuracy < 0.3  # distill_weight 0: the soft targets are not used
    assert b.val_accuracy > 0.8


def test_distillation_loss_takes_mirrored_targets_for_flipped_images():
    logits = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]], dtype=np.float32)
    mirrored = np.array([[0.0, 0.0, 4.0], [0.0, 0.0, 4.0]], dtype=np.float32)
    config = TrainConfig(distill_weight=0.75, distill_temperature=2.0)
    targets = _DistillTargets(SoftTargets(logits, mirrored), config, "cpu")
    student = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    idx = torch.tensor([1, 0])
    flipped = torch.tensor([True, False])
    hard = torch.tensor(0.5)
    got = targets.mix(hard, student, idx, flipped)
    teacher = torch.tensor([[0.0, 0.0, 4.0], [4.0, 0.0, 0.0]])  # row 1 mirrored, row 0 as is
    p = torch.softmax(teacher / 2, dim=1)
    kl = (p * (p.log() - torch.log_softmax(student / 2, dim=1))).sum(1).mean() * 4
    assert float(got) == pytest.approx(0.25 * 0.5 + 0.75 * float(kl), rel=1e-5)
    with pytest.raises(ValueError, match="mirror"):
        _DistillTargets(SoftTargets(logits), config, "cpu").mix(hard, student, idx, flipped)


def test_learning_rate_warms_up_linearly_then_decays_to_zero():
    rates = [lr_at(step, 100, 10, 0.05) for step in range(100)]
    assert rates[0] == pytest.approx(0.005) and rates[9] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert rates[-1] < 1e-4


@pytest.mark.parametrize("augment", [{"erase_p": 0.5, "label_smoothing": 0.1}])
@pytest.mark.train
def test_training_with_augmentation_learns_digits(augment):
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(8, 3, 1, batch_norm=True)),),
                        Pooling("avg", 2), ())
    config = TrainConfig(epochs=6, batch_size=64, **augment)
    result = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                   device="cpu")
    assert result.val_accuracy > 0.8  # chance is 0.1
    again = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                  device="cpu")
    for a, b in zip(result.net.state_dict().values(), again.net.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy())  # seeded: the augmentation replays


@pytest.mark.train
def test_a_learning_curve_is_measured_per_epoch_without_changing_the_training():
    ds = load_dataset("digits")
    arch = Architecture(ds.input_shape, ds.num_classes, (serial(conv(4, 3, 1)),), None, ())
    config = TrainConfig(epochs=3, batch_size=64)
    plain = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                  device="cpu")
    curved = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test, config, seed=0,
                   device="cpu", curve=True)
    assert plain.curve == () and len(curved.curve) == 3
    assert curved.curve[-1] == curved.val_accuracy == plain.val_accuracy
    for x, y in zip(plain.net.state_dict().values(), curved.net.state_dict().values()):
        assert torch.equal(x, y)  # evaluating between epochs draws nothing, changes nothing
    assert curved.curve[0] < curved.curve[-1]  # it learns: 0.1 is chance
    half = train(arch, ds.x_train, ds.y_train, ds.x_test, ds.y_test,
                 TrainConfig(epochs=1.5, batch_size=64), seed=0, device="cpu", curve=True)
    assert len(half.curve) == 2  # one whole epoch, then the end
