"""Trained-like weights for networks that were never trained.

At initialisation batch norm has zero mean and shift, so every folded convolution bias is
zero, and the TFLite converter merges identical all-zero constants into one buffer: a file
smaller than any trained network of the same architecture would give. Estimator checks run on
networks whose batch-norm statistics and affine parameters are drawn as training leaves them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet


def trained_like(net: TorchNet, seed: int) -> TorchNet:
    """Draws every batch norm's running statistics and affine parameters (in place)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
                module.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.2)
    return net.eval()
