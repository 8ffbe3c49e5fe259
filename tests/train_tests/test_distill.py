"""The distillation teacher and its soft targets."""

import numpy as np
import pytest
import torch

from tinynas.estimators import estimate
from tinynas.space import lower
from tinynas.space.torch_builder import build_torch
from tinynas.train import soft_targets, teacher_architecture


@pytest.mark.parametrize("shape, pool", [((28, 28, 1), 6), ((8, 8, 1), 2), ((32, 32, 3), 6),
                                         ((100, 3), None)])
def test_teacher_is_the_vgg_style_cnn_with_the_largest_pooling_its_feature_map_holds(shape, pool):
    arch = teacher_architecture(shape, 10)
    convs = [n for n in lower(arch) if n.op == "CONV_2D"]
    assert [n.channels for n in convs] == [32, 32, 64, 64, 128, 128]
    assert (arch.pooling.size if arch.pooling else None) == pool
    assert lower(arch)[-1].shape == (10,)


def test_teacher_of_flat_inputs_is_dense_and_far_larger_than_a_board_model():
    flat = teacher_architecture((64,), 4)
    assert flat.blocks == () and flat.dense == (256, 256)
    assert estimate(teacher_architecture((28, 28, 1), 10)).params > 250_000


def test_a_one_pixel_image_still_gets_a_teacher():
    assert lower(teacher_architecture((1, 1, 1), 10))[-1].shape == (10,)


def test_soft_targets_are_the_teachers_logits_for_the_images_and_their_mirrors():
    torch.manual_seed(0)
    net = build_torch(teacher_architecture((8, 8, 1), 3))
    net.train()
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    soft = soft_targets(net, x, mirrored=True, batch_size=2)
    assert net.training  # the mode is restored
    net.eval()
    with torch.no_grad():
        plain = net(torch.from_numpy(x)).numpy()
        flipped = net(torch.from_numpy(x[:, :, ::-1].copy())).numpy()
    np.testing.assert_allclose(soft.logits, plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(soft.mirrored, flipped, rtol=1e-5, atol=1e-6)
    assert not np.allclose(soft.logits, soft.mirrored)
    assert soft_targets(net, x, mirrored=False).mirrored is None
