"""meco: minimum eigenvalue of correlation on feature maps (Jiang, Wang and Bie, "MeCo:
Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of Correlation",
NeurIPS 2023).

One image (the batch's first), one forward pass at initialisation. For the output feature map
of every convolution and dense layer, C channels by P positions, the Pearson correlation
matrix of the channels (C x C; an undefined entry, from a constant channel, counts as 0) and
its smallest eigenvalue; the score is their sum over layers. Channels that are far from linear
combinations of one another give a well-conditioned correlation, which the paper ties to fast
convergence and generalisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture


def meco_score(feature_maps: Sequence[np.ndarray]) -> float:
    """The sum of each layer's smallest channel-correlation eigenvalue; each map is an array
    (channels, positions). A layer of one channel or one position adds nothing."""
    score = 0.0
    for fmap in feature_maps:
        f = np.asarray(fmap, np.float64).reshape(len(fmap), -1)
        if f.shape[0] < 2 or f.shape[1] < 2:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(f)
        corr = np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
        score += float(np.linalg.eigvalsh(corr)[0])
    return score


@register
class MecoMetric(BaseMetric):
    """meco: sum over layers of the smallest eigenvalue of the channel correlation matrix."""

    name = "meco"
    description = ("sum over layers of the smallest eigenvalue of the channel correlation of "
                   "one image's feature maps (Jiang et al. 2023)")
    needs_data = True
    cost = "forward"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        import torch

        from tinynas.metrics._nets import as_tensors, build_net, forward_hooked, weight_layers

        assert batch is not None
        net = build_net(arch, seed, train=False)  # one image: no batch statistics
        x, _ = as_tensors(batch)
        maps: list[np.ndarray] = []

        def hook(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
            maps.append(output[0].reshape(output.shape[1], -1).cpu().numpy())

        forward_hooked(net, x[:1], weight_layers(net), hook)
        return meco_score(maps)
