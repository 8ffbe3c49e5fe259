"""The analytically solvable model of the RARTS paper.

L_t(w, a) = w^2 - 2 a w + a^2 (training loss), L_v(y, a) = a y - 2 a + 1 (validation loss).
First-order DARTS drives w -> a (from L_t) and a -> where w = 2 (from L_v): the point (2, 2).
RARTS's stationary point solves 2 lam (w - a) = -a, y = w - a / beta, a + y = 2, so
a = 2 / (2 - 1/(2 lam) - 1/beta): at lam = beta = 15, (a, w, y) = (1.053, 1.018, 0.947).
"""

from __future__ import annotations

import pytest
import torch

from tinynas.refine._updates import Rates, darts1_step, rarts_step


def _toy() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(torch.tensor(v, requires_grad=True) for v in (0.5, 0.0, 0.0))  # type: ignore[return-value]


def test_rarts_settles_at_the_papers_point() -> None:
    a, w, y = _toy()
    for _ in range(1500):
        rarts_step([w], [y], [a], lambda: w**2 - 2 * a * w + a**2, lambda: a * y - 2 * a + 1,
                   lam=15.0, beta=15.0, rates=Rates(0.02, 0.03))
    assert (round(a.item(), 3), round(w.item(), 3), round(y.item(), 3)) == (1.053, 1.018, 0.947)


@pytest.mark.parametrize("lam,beta", [(15.0, 15.0), (5.0, 2.0), (30.0, 8.0)])
def test_rarts_matches_the_closed_form_stationary_point(lam: float, beta: float) -> None:
    a, w, y = _toy()
    for _ in range(1500):
        rarts_step([w], [y], [a], lambda: w**2 - 2 * a * w + a**2, lambda: a * y - 2 * a + 1,
                   lam=lam, beta=beta, rates=Rates(0.02, 0.03))
    a_star = 2 / (2 - 1 / (2 * lam) - 1 / beta)
    w_star = a_star * (1 - 1 / (2 * lam))
    assert a.item() == pytest.approx(a_star, abs=2e-3)
    assert w.item() == pytest.approx(w_star, abs=2e-3)
    assert y.item() == pytest.approx(2 - a_star, abs=2e-3)


def test_first_order_darts_settles_at_two_two() -> None:
    a, w, _ = _toy()
    for _ in range(1500):
        darts1_step([w], [a], lambda: w**2 - 2 * a * w + a**2, lambda: a * w - 2 * a + 1,
                    Rates(0.05, 0.05))
    assert (round(a.item(), 3), round(w.item(), 3)) == (2.0, 2.0)
