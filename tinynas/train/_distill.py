"""Knowledge distillation: a teacher network for a dataset, and its soft targets.

The teacher is not bound by any board: a plain VGG-style CNN (three stages of two 3x3
convolutions with 32, 64 and 128 channels, batch norm, a 2x2 max pool before the second and
third stages, average pooling; on (L,) inputs two dense layers of 256) written in the search
space's own template, so the same builders train it. It is several times the size of anything
that fits a microcontroller and trains once per run; the winner learns from its logits as
well as from the labels (`TrainConfig.distill_weight`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling, lower
from tinynas.train._loop import SoftTargets, predict_logits

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet

TEACHER_WIDTHS = (32, 64, 128)
TEACHER_DENSE_UNITS = (256, 256)  # the teacher of (L,) inputs, which have nothing to convolve
TEACHER_POOL_SIZES = (6, 4, 2)  # the largest the last feature map holds is used


def _stage(filters: int, pool_first: bool) -> ConvBlock:
    return ConvBlock((ConvLayer("conv2d", 3, filters, 1, pre_pool=pool_first, batch_norm=True),
                      ConvLayer("conv2d", 3, filters, 1, batch_norm=True)))


def teacher_architecture(input_shape: tuple[int, ...], num_classes: int) -> Architecture:
    """The teacher network for inputs of `input_shape` (module docstring)."""
    if len(input_shape) == 1:
        return Architecture(tuple(input_shape), num_classes, (), None, TEACHER_DENSE_UNITS)
    blocks = tuple(_stage(w, i > 0) for i, w in enumerate(TEACHER_WIDTHS))
    bare = Architecture(tuple(input_shape), num_classes, blocks, None, ())
    # 'same' padding and pooling keep at least one pixel, so every image shape lowers
    conv_out = next(n.shape for n in reversed(lower(bare)) if n.op == "CONV_2D")
    side = min(conv_out[:-1])
    size = next((s for s in TEACHER_POOL_SIZES if s <= side), None)
    return Architecture(tuple(input_shape), num_classes, blocks,
                        Pooling("avg", size) if size else None, ())


def soft_targets(net: TorchNet, x: np.ndarray, mirrored: bool,
                 batch_size: int = 1000) -> SoftTargets:
    """The logits of the trained `net` for every input of `x`, and for every image
    flipped left to right when `mirrored`: the soft targets of a distilled training."""
    import torch

    def logits(inputs: np.ndarray) -> np.ndarray:
        return predict_logits(net, torch.as_tensor(inputs), batch_size).cpu().numpy()

    mirror = logits(np.ascontiguousarray(x[:, :, ::-1])) if mirrored and x.ndim == 4 else None
    return SoftTargets(logits(x), mirror)
