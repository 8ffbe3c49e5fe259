"""zico: inverse coefficient of variation of the gradients (Li, Yang, Bhardwaj and Marculescu,
"ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients", ICLR 2023).

The batch is split into parts; each part gives the gradient g of the mean cross-entropy loss
with respect to every weight of every convolution and dense layer (network in train mode, as
the other gradient metrics). For a weight w, over the parts: the mean absolute gradient
E|g_w| and the standard deviation sigma(g_w). The score sums over layers l:

    zico = sum_l log( sum_{w in l, sigma(g_w) > 0} E|g_w| / sigma(g_w) )

a layer whose sum is 0 adds nothing. Large gradients that agree across data mean a network
that trains fast and generalises (the paper's analysis). Two parts, as the authors' code
uses two batches; each part's own gradient, as the paper's formula has it (that code does not
zero the gradients between its batches, so its second sample is the sum of both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, MetricError, register
from tinynas.space import Architecture

SPLITS = 2


def zico_score(layer_gradients: Sequence[np.ndarray]) -> float:
    """The zico sum from each layer's gradients, an array (parts, weights) per layer."""
    score = 0.0
    for grads in layer_gradients:
        grads = np.asarray(grads, np.float64).reshape(len(grads), -1)
        sigma = grads.std(axis=0)
        keep = sigma > 0
        ratio = float(np.sum(np.abs(grads).mean(axis=0)[keep] / sigma[keep]))
        if ratio > 0:
            score += math.log(ratio)
    return score


@register
class ZicoMetric(BaseMetric):
    """zico: sum over layers of log(sum E|g| / sigma(g)) across batch parts."""

    name = "zico"
    description = ("sum over layers of log(sum |mean grad| / std grad) across two halves of "
                   "the batch (Li et al. 2023)")
    needs_data = True
    cost = "backward"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        import torch

        from tinynas.metrics._nets import as_tensors, build_net, gradients

        assert batch is not None
        x, y = as_tensors(batch)
        if len(x) < SPLITS:
            raise MetricError(f"zico needs a batch of at least {SPLITS} images")
        net = build_net(arch, seed, train=True)
        parts = []
        with torch.enable_grad():
            for xs, ys in zip(torch.chunk(x, SPLITS), torch.chunk(y, SPLITS), strict=True):
                parts.append([g.detach().cpu().numpy().ravel() for g in gradients(net, xs, ys)])
        per_layer = [np.stack([part[k] for part in parts]) for k in range(len(parts[0]))]
        return zico_score(per_layer)
