"""The elastic supernet: a sub-network's extracted TorchNet computes what the supernet does."""

from __future__ import annotations

import random

import pytest
import torch

from tinynas.space import problems
from tinynas.supernet import (
    SubnetConfig,
    SupernetSpace,
    build_supernet,
    channel_importance,
    config_count,
    extract,
    sort_channels,
    subnet_architecture,
)

SPACE = SupernetSpace((28, 28, 1), 10)


def _random_config(rng: random.Random) -> SubnetConfig:
    depths = tuple(rng.choice(SPACE.depths) for _ in SPACE.widths)
    return SubnetConfig(depths, tuple(rng.choice(w) for w in SPACE.widths),
                        tuple(tuple(rng.choice(SPACE.kernels) for _ in range(d))
                              for d in depths))


def _perturbed() -> torch.nn.Module:
    """A supernet whose batch-norm statistics and kernel maps are not their initial values."""
    torch.manual_seed(0)
    net = build_supernet(SPACE)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        for name, p in net.named_parameters():
            if "transforms" in name:
                p.add_(0.05 * torch.randn_like(p))
    return net.eval()


@pytest.mark.parametrize("seed", range(6))
def test_an_extracted_subnet_computes_what_the_supernet_computes(seed: int) -> None:
    net = _perturbed()
    rng = random.Random(seed)
    config = SPACE.largest if seed == 0 else _random_config(rng)
    arch = subnet_architecture(SPACE, config)
    assert problems(arch) == []
    x = torch.rand(4, 28, 28, 1)
    with torch.no_grad():
        expected = net(x, config)
        got = extract(net, config).eval()(x)
    assert got.shape == (4, 10)
    assert torch.allclose(got, expected, atol=1e-5)


def test_a_smaller_kernel_is_the_mapped_centre_of_the_larger() -> None:
    net = _perturbed()
    layer = net.stages[0][0]
    full = layer.kernel(7, 16, 1)
    five = layer.kernel(5, 16, 1)
    centre = full[..., 1:6, 1:6].reshape(16, 1, 25) @ layer.transforms["5"]
    assert torch.allclose(five, centre.reshape(16, 1, 5, 5))
    three = layer.kernel(3, 8, 1)  # the first 8 channels, from the 5 x 5
    assert torch.allclose(three, (five[:8, :, 1:4, 1:4].reshape(8, 1, 9)
                                  @ layer.transforms["3"]).reshape(8, 1, 3, 3))


def test_configs_are_checked_and_counted() -> None:
    with pytest.raises(ValueError, match="stage 1: depth 2, width 20"):
        SubnetConfig((1, 2, 1), (8, 20, 32), ((3,), (3, 3), (3,))).check(SPACE)
    with pytest.raises(ValueError, match="has 3 stages"):
        SubnetConfig((1,), (8,), ((3,),)).check(SPACE)
    # per stage: (3 + 9 + 27) kernel choices x 3 widths
    assert config_count(SPACE) == (39 * 3) ** 3


def test_kernels_larger_than_a_small_map_are_clipped_as_the_space_clips_them() -> None:
    small = SupernetSpace((8, 8, 1), 10, widths=((8,), (16,), (16,)))  # maps of 8, 4 and 2
    torch.manual_seed(1)
    net = build_supernet(small).eval()
    config = SubnetConfig((1, 2, 1), (8, 16, 16), ((7,), (5, 7), (7,)))
    x = torch.rand(3, 8, 8, 1)
    with torch.no_grad():
        assert torch.allclose(extract(net, config).eval()(x), net(x, config), atol=1e-5)


def test_sorted_channels_keep_every_full_width_subnet_and_put_the_important_first() -> None:
    net = _perturbed()
    x = torch.rand(4, 28, 28, 1)
    rng = random.Random(7)
    configs = [SPACE.largest] + [
        SubnetConfig(c.depths, tuple(w[-1] for w in SPACE.widths), c.kernels)
        for c in (_random_config(rng) for _ in range(4))]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(x, SPACE.largest).sum().backward()
    opt.step()  # momentum buffers to carry along
    layer = net.stages[1][0]
    before_weight = layer.weight.detach().clone()
    before_buffer = opt.state[layer.weight]["momentum_buffer"].clone()
    with torch.no_grad():
        expected = [net(x, c) for c in configs]
    orders = sort_channels(net, opt)
    assert [len(o) for o in orders] == [w[-1] for w in SPACE.widths]
    assert any(not torch.equal(o, torch.arange(len(o))) for o in orders)
    with torch.no_grad():
        for config, before in zip(configs, expected):
            assert torch.allclose(net(x, config), before, atol=1e-5)
    for importance in channel_importance(net):
        assert torch.all(importance[:-1] >= importance[1:])
    # the momentum moved with its weight: stage 1's first layer, rows by stage 1's order and
    # columns by stage 0's
    moved = before_weight[orders[1]][:, orders[0]]
    assert torch.equal(layer.weight.detach(), moved)
    assert torch.equal(opt.state[layer.weight]["momentum_buffer"],
                       before_buffer[orders[1]][:, orders[0]])
