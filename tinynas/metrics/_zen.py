"""zen: the expressivity of the feature extractor under Gaussian weights (Lin et al. 2021).

Every convolution and dense weight is drawn from N(0, 1) (biases 0, batch norm scale 1 and
shift 0); x and eps are Gaussian batches; f is the network without its classifier layer:

    score = log mean_n ||f(x) - f(x + 0.01 eps)||_1 + sum over BN layers of log sqrt(mean var)

where var is each batch norm's running variance after the two forward passes in train mode,
as ZenNAS's code leaves it. ZenNAS takes f before the global pooling; our networks have no
global pooling, so f is everything before the classifier: the features after the optional
pooling layer and the hidden dense layers. The pass runs in float64 (N(0, 1) weights grow the
activations by about sqrt(fan_in) per layer). The score is averaged over `repeats` draws.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tinynas.metrics._base import BaseMetric, Batch, MetricError, register
from tinynas.space import Architecture

if TYPE_CHECKING:
    import torch

    from tinynas.space.torch_builder import TorchNet

MIXUP_GAMMA = 1e-2


@register
class ZenMetric(BaseMetric):
    """zen on Gaussian inputs (no data).

    Args:
        batch_size: Gaussian samples per draw (ZenNAS uses 16-64).
        repeats: Independent draws of weights and inputs; the scores are averaged.

    Degenerate: -inf when the features do not depend on the input (every ReLU off).
    """

    name = "zen"
    needs_data = False
    cost = "forward"
    description = "log feature change under input perturbation, N(0,1) weights (Lin et al. 2021)"
    degenerate_value = float("-inf")

    def __init__(self, batch_size: int = 16, repeats: int = 1) -> None:
        if batch_size < 2 or repeats < 1:
            raise MetricError(
                f"zen needs batch_size >= 2 and repeats >= 1; got {batch_size}, {repeats}"
            )
        self.batch_size, self.repeats = batch_size, repeats

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        from tinynas.metrics._nets import build_net

        net = build_net(arch, seed, train=True).double()
        scores = [self._draw(net, arch) for _ in range(self.repeats)]
        return sum(scores) / len(scores)

    def _draw(self, net: TorchNet, arch: Architecture) -> float:
        import torch

        _gaussian_init(net)
        x = torch.randn((self.batch_size, *arch.input_shape), dtype=torch.float64)
        eps = torch.randn_like(x)
        with torch.no_grad():
            change = (_features(net, x) - _features(net, x + MIXUP_GAMMA * eps)).abs()
        expressivity = float(change.reshape(len(x), -1).sum(1).mean())
        if expressivity == 0.0:
            return float("-inf")
        return math.log(expressivity) + _log_bn_scale(net)


def _gaussian_init(net: TorchNet) -> None:
    import torch
    from torch import nn

    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                m.reset_running_stats()


def _features(net: TorchNet, x: torch.Tensor) -> torch.Tensor:
    """The input of the classifier layer for input `x`."""
    seen: list[torch.Tensor] = []

    def keep(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        seen.append(inputs[0])

    handle = net.layers["classifier"].register_forward_pre_hook(keep)
    try:
        net(x)
    finally:
        handle.remove()
    return seen[0]


def _log_bn_scale(net: TorchNet) -> float:
    from torch import nn

    variances = [m.running_var for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    return math.fsum(0.5 * math.log(float(v.mean())) for v in variances if v is not None)
