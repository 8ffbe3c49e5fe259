"""The first-order updates of RARTS and DARTS, on any problem given as loss callables.

RARTS (Xue, Qi, Xin, IEEE Access 2022; reference/search-and-metrics.md section 4, our reading of
its objective): a primary network y and an auxiliary network w share the architecture alpha;
the objective is

    L = L_v(y, alpha) + lambda * L_t(w, alpha) + beta / 2 * ||y - w||^2  (+ mu * P(alpha))

and one Gauss-Seidel step updates w, then y with the new w, then alpha with both new:

    w     <- w - eta_w (lambda grad_w L_t(w, alpha) + beta (w - y))
    y     <- y - eta_y (grad_y L_v(y, alpha) + beta (y - w))
    alpha <- alpha - eta_a (lambda grad_a L_t(w, alpha) + grad_a L_v(y, alpha) + mu grad_a P)

First-order DARTS (Liu et al. 2019, unrolled step 0) on the same relaxation:

    w     <- w - eta_w grad_w L_t(w, alpha)
    alpha <- alpha - eta_a (grad_a L_v(w, alpha) + mu grad_a P)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

Loss = Callable[[], "torch.Tensor"]
# Applies alpha's gradients; None = the plain gradient step alpha -= eta_a * grad of the equations
AlphaUpdate = Callable[[Sequence["torch.Tensor"], Sequence["torch.Tensor"]], None]


@dataclass(frozen=True)
class Rates:
    weights: float = 0.05  # eta_w and eta_y
    alpha: float = 3e-3  # eta_a


def _grads(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    import torch

    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def rarts_step(
    w: Sequence[torch.Tensor], y: Sequence[torch.Tensor], alpha: Sequence[torch.Tensor],
    loss_t: Callable[[], torch.Tensor], loss_v: Callable[[], torch.Tensor],
    lam: float, beta: float, rates: Rates, penalty: Callable[[], torch.Tensor] | None = None,
    mu: float = 0.0, alpha_update: AlphaUpdate | None = None,
) -> None:
    """One RARTS Gauss-Seidel step, in place. `loss_t()` evaluates L_t at the current w and
    alpha on a batch of the first data half, `loss_v()` L_v at the current y and alpha on a batch
    of the other half."""
    import torch

    g_w = _grads(loss_t(), w)
    with torch.no_grad():
        for wi, yi, gi in zip(w, y, g_w):
            wi -= rates.weights * (lam * gi + beta * (wi - yi))
    g_y = _grads(loss_v(), y)
    with torch.no_grad():
        for yi, wi, gi in zip(y, w, g_y):
            yi -= rates.weights * (gi + beta * (yi - wi))
    total = lam * loss_t() + loss_v()
    if penalty is not None and mu:
        total = total + mu * penalty()
    _update_alpha(alpha, _grads(total, alpha), rates, alpha_update)


def _update_alpha(alpha: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], rates: Rates,
                  alpha_update: AlphaUpdate | None) -> None:
    import torch

    if alpha_update is not None:
        alpha_update(alpha, grads)
        return
    with torch.no_grad():
        for ai, gi in zip(alpha, grads):
            ai -= rates.alpha * gi


def darts1_step(
    w: Sequence[torch.Tensor], alpha: Sequence[torch.Tensor],
    loss_t: Callable[[], torch.Tensor], loss_v: Callable[[], torch.Tensor], rates: Rates,
    penalty: Callable[[], torch.Tensor] | None = None, mu: float = 0.0,
    alpha_update: AlphaUpdate | None = None,
) -> None:
    """One first-order DARTS step, in place (`loss_v()` evaluates L_v at w, alpha)."""
    import torch

    g_w = _grads(loss_t(), w)
    with torch.no_grad():
        for wi, gi in zip(w, g_w):
            wi -= rates.weights * gi
    total = loss_v()
    if penalty is not None and mu:
        total = total + mu * penalty()
    _update_alpha(alpha, _grads(total, alpha), rates, alpha_update)
