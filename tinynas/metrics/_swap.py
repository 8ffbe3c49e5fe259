"""swap: sample-wise activation patterns (Peng, Song, Chen, Zhu, Li and Wang, "SWAP-NAS:
Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR 2024).

One forward pass of the batch (N samples) at initialisation. Every post-ReLU unit (a channel
at a position) has a pattern: which of the N samples activate it, a binary vector of length N.
The score is the number of distinct patterns over all the network's ReLU units: a network
whose units split the samples in many different ways is more expressive. This is the plain
SWAP score; the paper's regularised variant multiplies it by a Gaussian of the parameter count
whose centre and width are tuned per search space, which tinynas does not have.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture


def swap_score(codes: Sequence[np.ndarray]) -> int:
    """Distinct unit patterns, from each ReLU layer's codes: a boolean array (samples, units)."""
    packed = [np.packbits(np.asarray(c, bool).reshape(len(c), -1), axis=0).T for c in codes]
    if not packed:
        return 0
    patterns = np.concatenate(packed)  # (units, ceil(samples / 8)), one row per unit
    return int(len(np.unique(patterns, axis=0)))


@register
class SwapMetric(BaseMetric):
    """swap: distinct sample-wise activation patterns of the ReLU units over one batch."""

    name = "swap"
    description = "distinct sample-wise ReLU activation patterns over one batch (Peng et al. 2024)"
    needs_data = True
    cost = "forward"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        import torch

        from tinynas.metrics._nets import as_tensors, build_net, forward_hooked

        assert batch is not None
        net = build_net(arch, seed, train=True)
        x, _ = as_tensors(batch)
        codes: list[np.ndarray] = []

        def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: object
                 ) -> None:  # fmt: skip
            codes.append((inputs[0] > 0).reshape(len(x), -1).cpu().numpy())

        forward_hooked(net, x, net.relus.values(), hook)
        return float(swap_score(codes))
