"""synflow (Tanaka et al. 2020), as SamsungLabs/zero-cost-nas computes it at initialisation.

The network is taken in float64 with batch norm bypassed and every parameter replaced by its
absolute value; the input is one all-ones sample and R is the sum of the outputs:

    score = sum over conv/dense weights of |w * dR/dw|

It needs no data. For a dense-only network x -> W2 relu(W1 x + b1) + b2 this is
sum_ij |W1_ij| sum_k |W2_ki| + sum_ki |W2_ki| (sum_j |W1_ij| + |b1_i|).
"""

from __future__ import annotations

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture


@register
class SynflowMetric(BaseMetric):
    """synflow: the synaptic flow through |weights| for an all-ones input (no data)."""

    name = "synflow"
    needs_data = False
    cost = "backward"
    description = "sum |w * dR/dw| of the |w| network on an all-ones input (Tanaka et al. 2020)"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        import torch

        from tinynas.metrics._nets import build_net, drop_batch_norm, total, weight_layers

        net = drop_batch_norm(build_net(arch, seed, train=False)).double()
        with torch.no_grad():
            for param in net.parameters():
                param.abs_()
        ones = torch.ones((1, *arch.input_shape), dtype=torch.float64)
        with torch.enable_grad():
            net(ones).sum().backward()
        weights = [layer.weight for layer in weight_layers(net)]
        return float(total((w.detach() * w.grad).abs() for w in weights if w.grad is not None))
