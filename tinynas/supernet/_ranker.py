"""The `supernet` ranker: a sub-network's accuracy with the weights it inherits from the trained
supernet, its batch-norm statistics recalibrated (Once-for-All, Cai et al., ICLR 2020, search
with exactly this, there through an accuracy predictor fitted to it). Higher is better, as for
every metric; the score is a held-out accuracy in [0, 1], no training."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tinynas.metrics import BaseMetric, Batch, MetricError
from tinynas.space import Architecture
from tinynas.supernet._elastic import SubnetConfig
from tinynas.supernet._schema import config_of
from tinynas.supernet._train import RECALIBRATION_IMAGES, recalibrate

EVAL_BATCH = 500


def inherited_accuracy(supernet: Any, config: SubnetConfig, x_calibrate: np.ndarray,
                       x_val: np.ndarray, y_val: np.ndarray,
                       calibration_images: int = RECALIBRATION_IMAGES) -> float:
    """The accuracy on (x_val, y_val) of `config` extracted from `supernet`, batch-norm
    statistics recalibrated on the first `calibration_images` of `x_calibrate`."""
    import torch

    net = recalibrate(supernet, config, x_calibrate, calibration_images)
    correct = 0
    with torch.no_grad():
        for k in range(0, len(x_val), EVAL_BATCH):
            logits = net(torch.as_tensor(x_val[k:k + EVAL_BATCH]))
            correct += int((logits.argmax(dim=1).numpy() == y_val[k:k + EVAL_BATCH]).sum())
    return correct / max(1, len(x_val))


class SupernetMetric(BaseMetric):
    """Scores a sub-network of one trained supernet by `inherited_accuracy` (module docstring).
    Built with the supernet and its data, so it is not in the metric registry; an architecture
    that is not one of the supernet's sub-networks cannot be scored."""

    name: ClassVar[str] = "supernet"
    needs_data: ClassVar[bool] = False
    cost: ClassVar[str] = "forward"
    description: ClassVar[str] = ("accuracy with the weights inherited from a trained supernet, "
                                  "batch norm recalibrated")

    def __init__(self, supernet: Any, x_calibrate: np.ndarray, x_val: np.ndarray,
                 y_val: np.ndarray, calibration_images: int = RECALIBRATION_IMAGES) -> None:
        self.supernet = supernet
        self.x_calibrate, self.x_val, self.y_val = x_calibrate, x_val, y_val
        self.calibration_images = calibration_images

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        try:
            config = config_of(self.supernet.space, arch)
        except ValueError as exc:
            raise MetricError(f"the supernet ranker scores only the supernet's own "
                               f"sub-networks: {exc}") from exc
        return inherited_accuracy(self.supernet, config, self.x_calibrate, self.x_val,
                                  self.y_val, self.calibration_images)
