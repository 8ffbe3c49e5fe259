"""naswot: the log-determinant of the ReLU-code kernel (Mellor et al. 2021, v2).

For every ReLU of the network, each sample's binary code c = (ReLU input > 0) is concatenated
over all ReLUs (N_A entries). Two samples' kernel entry is the number of units on which their
codes agree, N_A minus their Hamming distance:

    K_H = C C^T + (1 - C)(1 - C)^T  (K x K for a batch of K samples),  score = log|K_H|.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture

if TYPE_CHECKING:
    import torch

EPSILON = 1e-3  # ridge of the fallback, as a fraction of N_A (the kernel's diagonal)


def log_det(kernel: np.ndarray, relu_units: int) -> float:
    """log|K_H|, with a finite fallback where K_H is singular.

    K_H is singular whenever two samples share a code or the batch is larger than N_A, which
    hits small networks that train well (reference section 5); -inf would rank them last. The
    fallback is log|K_H + eps I| with eps = 1e-3 * N_A: K_H is positive semi-definite, so the
    ridge makes it definite while changing the non-zero eigenvalues by a factor <= 1 + 1e-3.

    Args:
        kernel: K_H, a symmetric K x K matrix.
        relu_units: N_A, the diagonal of K_H.
    """
    sign, value = np.linalg.slogdet(kernel)
    if sign > 0:
        return float(value)
    ridge = EPSILON * relu_units * np.eye(len(kernel))
    return float(np.linalg.slogdet(kernel + ridge)[1])


@register
class NaswotMetric(BaseMetric):
    """naswot on one batch, at initialisation, in train mode (batch norm on batch statistics,
    as Mellor et al.'s code runs it); one forward pass under ``torch.no_grad``.

    Degenerate cases: a singular kernel scores ``log_det``'s finite fallback; a network without
    ReLU (a linear network, N_A = 0) scores 0.0.
    """

    name = "naswot"
    needs_data = True
    cost = "forward"
    description = "log-determinant of the ReLU-code kernel over one batch (Mellor et al. 2021)"
    degenerate_value = None

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        from tinynas.metrics._nets import as_tensors, build_net

        assert batch is not None
        net = build_net(arch, seed, train=True)
        if len(net.relus) == 0:
            return 0.0
        x, _ = as_tensors(batch)
        kernel, units = _relu_kernel(net, x)
        return log_det(kernel.numpy(), units)


def _relu_kernel(net: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """K_H of a batch and N_A, from one forward pass with a hook on every ReLU.

    With C the codes as 0/1 floats and r_i the active units of sample i,
    K_H = 2 C C^T - r_i - r_j + N_A: one matrix product per ReLU layer, exact in float32
    while a layer has fewer than 2**24 units, summed in float64.
    """
    import torch

    products = torch.zeros(len(x), len(x), dtype=torch.float64)
    active = torch.zeros(len(x), dtype=torch.float64)
    units = 0

    def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: object) -> None:
        nonlocal units
        codes = (inputs[0] > 0).reshape(len(x), -1).to(torch.float32)
        products.add_((codes @ codes.T).to(torch.float64))
        active.add_(codes.sum(1, dtype=torch.float64))
        units += codes.shape[1]

    from tinynas.metrics._nets import forward_hooked

    forward_hooked(net, x, net.relus.values(), hook)  # type: ignore[operator]
    return 2 * products - active[:, None] - active[None, :] + units, units
