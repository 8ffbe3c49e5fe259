"""The torch module and its Keras twin compute the same function; parameter counts agree."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

import torch

from tinynas.estimators import params
from tinynas.space import (
    Architecture,
    ConvBlock,
    Pooling,
    SpaceConfig,
    lower,
    sample,
)
from tinynas.space.keras_builder import build_keras, copy_weights
from tinynas.space.torch_builder import TorchNet, build_torch, same_padding
from tinynas.testing.archs import conv, dw, pw
from tinynas.testing.weights import trained_like

pytestmark = pytest.mark.slow

ATOL = 1e-4


def _randomise_batch_norm(net: TorchNet, seed: int) -> int:
    """Gives every BatchNorm non-trivial statistics and affine parameters; returns the count."""
    trained_like(net, seed)
    return sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def outputs(arch: Architecture, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Float outputs of the torch module and of its twin on 4 random inputs, and the number of
    batch-norm layers."""
    torch.manual_seed(seed)
    net = build_torch(arch)
    bn_count = _randomise_batch_norm(net, seed)
    net.eval()
    model = build_keras(arch)  # batch size 1
    copy_weights(net, model)
    x = np.random.default_rng(seed).standard_normal((4, *arch.input_shape)).astype(np.float32)
    with torch.no_grad():
        y_torch = net(torch.from_numpy(x)).numpy()
    y_keras = np.concatenate([np.asarray(model(x[i:i + 1], training=False)) for i in range(4)])
    return y_torch, y_keras, bn_count


def assert_twins_agree(arch: Architecture, seed: int = 0) -> int:
    y_torch, y_keras, bn_count = outputs(arch, seed)
    assert y_torch.shape == y_keras.shape == (4, arch.num_classes)
    assert np.abs(y_torch).max() > 1e-2  # a comparison of non-trivial numbers
    np.testing.assert_allclose(y_keras, y_torch, rtol=0, atol=ATOL)
    return bn_count


def test_same_padding_matches_tensorflow() -> None:
    # TensorFlow pads the odd pixel at the end: 7 with k=3, s=2 -> total 2 -> (1, 1);
    # 28, k=3, s=2 -> total 1 -> (0, 1); 4, k=4, s=4 -> 0; 3, k=4, s=4 -> (0, 1)
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(28, 3, 2) == (0, 1)
    assert same_padding(4, 4, 4) == (0, 0)
    assert same_padding(3, 4, 4) == (0, 1)
    assert same_padding(5, 5, 1) == (2, 2)


def test_hand_written_image_network() -> None:
    """28 -> 14 -> 7 -> 4 with 'same' stride 2; pre-pools; depthwise; 1x1; batch norm; two
    parallel groups, one with a tie pool and a depthwise `_proj`."""
    arch = Architecture(
        (28, 28, 1),
        5,
        (
            ConvBlock((conv(6, s=2, batch_norm=True), dw(k=5, s=2, batch_norm=True),
                       conv(8, s=2, batch_norm=True, relu=False))),
            ConvBlock((pw(5, pre_pool=True, batch_norm=True), dw(k=3)), parallel=True),
            ConvBlock((pw(12, batch_norm=True), conv(10, pre_pool=True))),
            ConvBlock((dw(s=2, batch_norm=True),), parallel=True),
        ),
        Pooling("avg", 2),
        (16,),
    )
    ops = {n.name: n for n in lower(arch)}
    assert ops["b0l2"].shape == (4, 4, 8)
    assert ops["b1_proj"].shape == (14, 14, 8) and ops["b1_tie"].kernel == (4, 4)
    assert ops["b3_proj"].shape == (2, 2, 10)
    assert assert_twins_agree(arch) == 6


def test_hand_written_max_pooled_odd_sizes() -> None:
    arch = Architecture(
        (15, 9, 2),
        3,
        (ConvBlock((conv(4, k=5, s=2), conv(4, pre_pool=True))),
         ConvBlock((dw(k=7, s=2), dw(s=2, batch_norm=True)), parallel=True)),
        Pooling("max", 2),
        (8, 8),
    )
    assert assert_twins_agree(arch, seed=1) == 1


def test_1d_input_with_convolutions() -> None:
    arch = Architecture(
        (640,),
        12,
        (
            ConvBlock((conv(8, k=5, s=2, batch_norm=True), conv(8, pre_pool=True))),
            ConvBlock((dw(k=3, batch_norm=True), pw(4))),
            ConvBlock((conv(4, k=7, s=2),), parallel=True),
        ),
        Pooling("max", 4),
        (16,),
    )
    assert assert_twins_agree(arch) == 2


def test_sequence_with_channels() -> None:
    arch = Architecture(
        (64, 3),
        4,
        (ConvBlock((conv(6, s=2, batch_norm=True),)), ConvBlock((dw(k=5),), parallel=True)),
        Pooling("avg", 2),
    )
    assert {n.name for n in lower(arch)} >= {"input_2d", "b1_proj", "b1_tie", "b1_add"}
    assert assert_twins_agree(arch) == 1


@pytest.mark.parametrize(
    "arch",
    [
        Architecture((28, 28, 1), 10, dense=(32, 16)),
        Architecture((28, 28, 1), 10, pooling=Pooling("avg", 4), dense=(20,)),
        Architecture((64, 3), 4, dense=(8,)),
    ],
    ids=["mlp", "pooled_mlp", "sequence_mlp"],
)
def test_mlp_without_conv_blocks(arch: Architecture) -> None:
    assert assert_twins_agree(arch) == 0


@pytest.mark.parametrize("seed", range(5))
def test_sampled_architectures(seed: int) -> None:
    arch = sample((28, 28, 1), 10, seed, SpaceConfig(max_blocks=4, max_filters=24))
    assert_twins_agree(arch, seed)


def test_1d_input_with_a_stride_two_depthwise_layer() -> None:
    arch = Architecture((64,), 4, (ConvBlock((dw(k=3, s=2),)),))
    assert {n.name: n for n in lower(arch)}["b0l0"].stride == (2, 2)  # equal: TF's float kernel
    assert_twins_agree(arch)


def test_torch_parameter_count_equals_the_estimator() -> None:
    shapes = [(28, 28, 1), (49, 10, 1), (640,), (64, 3)]
    for seed in range(20):
        arch = sample(shapes[seed % 4], 10, seed, SpaceConfig(max_blocks=4, max_filters=24))
        net = build_torch(arch)
        trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
        assert trainable == params(arch), arch.to_json(indent=None)


def test_torch_parameter_count_by_hand() -> None:
    # conv 3x3 1->4 + bias: 40; depthwise 3x3 on 4 + bias: 40; 1x1 4->8 with BN: 32 + 16;
    # avg pool 2 -> 7x7x8 = 392; dense 392->20: 7860; classifier 20->10: 210
    arch = Architecture(
        (28, 28, 1), 10, (ConvBlock((conv(4, s=2), dw(), pw(8, batch_norm=True))),),
        Pooling("avg", 2), (20,),
    )
    net = build_torch(arch)
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 8198
    assert params(arch) == 8198
