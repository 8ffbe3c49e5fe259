"""Gradient saliency metrics at initialisation: snip, grad_norm, fisher, grasp.

All four follow SamsungLabs/zero-cost-nas (reference section 3): one batch, the mean
cross-entropy loss L, the network in train mode (batch norm on batch statistics), sums over
the weights of every convolution and dense layer (biases and batch norm excluded).

- snip (Lee et al. 2019): sum |w * dL/dw|.
- grad_norm: sum over layers of the Frobenius norm ||dL/dW||_2.
- fisher (Turner et al. 2020): for each output channel k of a layer with output a,
  0.5 * mean_n(sum_spatial a * dL/da)^2, summed over channels and layers.
- grasp (Wang et al. 2020): sum of -w * (H g), with g = dL/dw and H the Hessian of L. GraSP's
  pruning criterion is w * (H g); zero-cost-nas negates it because accuracy correlates
  negatively with the un-negated sum, and so do we (higher = better).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture

if TYPE_CHECKING:
    import torch

    from tinynas.space.torch_builder import TorchNet


class _GradientMetric(BaseMetric):
    """Builds the net in train mode and hands `_saliency` the batch as tensors."""

    needs_data = True
    cost = "backward"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        import torch

        from tinynas.metrics._nets import as_tensors, build_net

        assert batch is not None
        net = build_net(arch, seed, train=True)
        x, y = as_tensors(batch)
        with torch.enable_grad():
            return float(self._saliency(net, x, y).detach())

    @abc.abstractmethod
    def _saliency(self, net: TorchNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The metric's value as a scalar tensor, gradients enabled."""


@register
class SnipMetric(_GradientMetric):
    """snip: connection sensitivity sum |w * dL/dw|."""

    name = "snip"
    description = "sum |w * dL/dw| over weights on one batch (Lee et al. 2019)"

    def _saliency(self, net: TorchNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from tinynas.metrics._nets import gradients, total, weight_layers

        weights = [layer.weight for layer in weight_layers(net)]
        return total((w * g).abs() for w, g in zip(weights, gradients(net, x, y), strict=True))


@register
class GradNormMetric(_GradientMetric):
    """grad_norm: sum over layers of ||dL/dW||_2."""

    name = "grad_norm"
    description = "sum over layers of the L2 norm of dL/dW on one batch"

    def _saliency(self, net: TorchNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from tinynas.metrics._nets import gradients, total

        return total(g.norm() for g in gradients(net, x, y))


@register
class FisherMetric(_GradientMetric):
    """fisher: per-channel 0.5 * mean_n(sum_spatial a * dL/da)^2 of every layer's output."""

    name = "fisher"
    description = "Fisher information of layer outputs, per channel, on one batch (Turner 2020)"

    def _saliency(self, net: TorchNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:

        from tinynas.metrics._nets import cross_entropy, total, weight_layers

        outputs: list[torch.Tensor] = []

        def keep(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
            output.retain_grad()
            outputs.append(output)

        handles = [layer.register_forward_hook(keep) for layer in weight_layers(net)]
        try:
            cross_entropy(net, x, y).backward()
        finally:
            for handle in handles:
                handle.remove()
        return total(_channel_fisher(a, a.grad) for a in outputs if a.grad is not None)


def _channel_fisher(a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    prod = a.detach() * grad
    if prod.dim() == 4:
        prod = prod.sum((2, 3))
    return 0.5 * prod.pow(2).mean(0).sum()


@register
class GraspMetric(_GradientMetric):
    """grasp: sum of -w * (H g), negated as in zero-cost-nas (see the module docstring)."""

    name = "grasp"
    description = "gradient signal preservation -w * Hg on one batch (Wang et al. 2020)"

    def _saliency(self, net: TorchNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        import torch

        from tinynas.metrics._nets import cross_entropy, total, weight_layers

        weights = [layer.weight for layer in weight_layers(net)]
        loss = cross_entropy(net, x, y)
        grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        z = total(g.detach() * g for g in grads if g is not None)
        hg = torch.autograd.grad(z, weights, allow_unused=True)
        return total(-w.detach() * h for w, h in zip(weights, hg, strict=True) if h is not None)
