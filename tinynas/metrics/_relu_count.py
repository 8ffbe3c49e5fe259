"""relu_count and its size-penalised form (Fernandes 2022, the seed thesis; reference sec. 3).

Dropping the log from naswot's log|K_H| = sum log(lambda_k) leaves sum lambda_k = trace(K_H)
= N_A * K: ranking by it is ranking by N_A, the number of ReLU activation elements per sample.
It needs no data, weights or seed. A ReLU that TFLite fuses into its convolution still counts;
a network without ReLU scores 0.

The penalised form multiplies N_A by f(x), where x is the binding resource of a device: the
largest of flash / flash budget, arena / RAM budget and (when a latency budget is given)
predicted latency / latency budget, all from ``tinynas.estimators.estimate``. The thesis's
printed penalties do not give 1 below the target; our reading (reference sec. 3) is f(x) = 1
for x < mu, else the unnormalised shape scaled to 1 at x = mu:

    gaussian  f = exp(-((x - mu) / sigma)^2 / 2)
    sech      f = sech(pi/2 (x - mu) / sigma)            (the thesis's sech has sigma = 1)
    rayleigh  f = (t / sigma) exp(1/2 - t^2 / (2 sigma^2)),  t = x - mu + sigma

The Rayleigh density t/sigma^2 exp(-t^2/(2 sigma^2)) peaks at t = sigma; shifting it so that
its peak sits at mu makes it 1 there and decreasing above, whatever sigma.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from tinynas.devices import Device, get_device
from tinynas.estimators import estimate
from tinynas.metrics._base import BaseMetric, Batch, MetricError, register
from tinynas.space import Architecture, lower

if TYPE_CHECKING:
    from tinynas.estimators import Budget

DEFAULT_DEVICE = "nucleo-l4r5zi"  # the `--device=stm32` board of the README


def relu_units(arch: Architecture) -> int:
    """N_A: ReLU activation elements of one sample (ReLU6 would count too)."""
    return sum(node.out_elements for node in lower(arch) if node.relu)


def _gaussian(d: float, sigma: float) -> float:
    return math.exp(-((d / sigma) ** 2) / 2)


def _sech(d: float, sigma: float) -> float:
    z = math.pi / 2 * d / sigma
    return 0.0 if z > 700 else 1 / math.cosh(z)


def _rayleigh(d: float, sigma: float) -> float:
    t = d + sigma
    return t / sigma * math.exp(0.5 - t * t / (2 * sigma * sigma))


PENALTY_SHAPES: dict[str, Callable[[float, float], float]] = {
    "gaussian": _gaussian,
    "sech": _sech,
    "rayleigh": _rayleigh,
}


def penalty(x: float, shape: str = "gaussian", mu: float = 1.0, sigma: float = 0.4) -> float:
    """f(x): 1 for x <= mu, decaying from 1 above it (see the module docstring).

    Raises:
        MetricError: An unknown shape, or mu or sigma not positive.
    """
    _check_penalty(shape, mu, sigma)
    if x <= mu:
        return 1.0
    return PENALTY_SHAPES[shape](x - mu, sigma)


def _check_penalty(shape: str, mu: float, sigma: float) -> None:
    if shape not in PENALTY_SHAPES:
        raise MetricError(
            f"unknown penalty shape {shape!r}; choose one of {', '.join(PENALTY_SHAPES)}"
        )
    if not (mu > 0 and sigma > 0):
        raise MetricError(f"penalty mu and sigma must be positive; got mu={mu}, sigma={sigma}")


@register
class ReluCountMetric(BaseMetric):
    """N_A from the lowered graph; no network is built. Degenerate: no ReLU scores 0.0."""

    name = "relu_count"
    needs_data = False
    cost = "analytic"
    description = "ReLU activation elements per sample, trace of the naswot kernel (thesis)"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return float(relu_units(arch))


@register
class ReluCountPenalizedMetric(BaseMetric):
    """N_A * f(binding resource fraction) for a device (see the module docstring).

    The limits are the device's flash and RAM budgets, or those of `budget` (a search's
    ``tinynas.search.Budget``, which the user may have tightened) where it is given; a limit
    that is None is left out of the binding resource.

    Args:
        device: A board of the catalogue (name or alias) or a Device.
        shape: ``"gaussian"``, ``"sech"`` or ``"rayleigh"``.
        mu: The fraction of the budget above which the penalty starts (1.0 = the budget).
        sigma: The width of the decay, in fractions of the budget; the thesis's 0.4 (it used
            0.4 MB around a 0.2 MB target) by default.
        latency_budget_ms: A latency limit (overrides the budget's); None: the budget's, if any.
        budget: Limits with ``flash_bytes``, ``ram_bytes`` and ``latency_ms`` attributes.
    """

    name = "relu_count_penalized"
    needs_data = False
    cost = "analytic"
    description = "relu_count times a penalty on the binding flash/RAM/latency budget (thesis)"

    def __init__(
        self,
        device: str | Device = DEFAULT_DEVICE,
        shape: str = "gaussian",
        mu: float = 1.0,
        sigma: float = 0.4,
        latency_budget_ms: float | None = None,
        budget: Budget | None = None,
    ) -> None:
        _check_penalty(shape, mu, sigma)
        self.device = get_device(device) if isinstance(device, str) else device
        self.shape, self.mu, self.sigma = shape, mu, sigma
        self.limits = _limits(self.device, budget, latency_budget_ms)

    def fractions(self, arch: Architecture) -> dict[str, float]:
        """Each estimated resource of `arch` as a fraction of its limit."""
        flash_limit, ram_limit, latency_limit = self.limits
        est = estimate(arch, self.device)  # the board's arena (Cortex-M on CMSIS-NN boards)
        out = {}
        if flash_limit:
            out["flash"] = est.flash_bytes / flash_limit
        if ram_limit:
            out["ram"] = est.arena_bytes / ram_limit
        if latency_limit and est.latency_ms is not None:
            out["latency"] = est.latency_ms / latency_limit
        return out

    def binding(self, arch: Architecture) -> tuple[str, float]:
        """The binding resource of `arch` and its fraction of the limit (("none", 0.0) when
        nothing is limited)."""
        fractions = self.fractions(arch)
        if not fractions:
            return "none", 0.0
        resource = max(fractions, key=fractions.__getitem__)
        return resource, fractions[resource]

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        _, x = self.binding(arch)
        return relu_units(arch) * penalty(x, self.shape, self.mu, self.sigma)


def _limits(
    device: Device, budget: Budget | None, latency_ms: float | None
) -> tuple[int | None, int | None, float | None]:
    """(flash bytes, RAM bytes, latency ms) limits; None = not limited."""
    if latency_ms is not None and not latency_ms > 0:
        raise MetricError(f"latency_budget_ms must be positive; got {latency_ms}")
    if budget is None:
        return device.flash_budget_bytes, device.ram_budget_bytes, latency_ms
    return budget.flash_bytes, budget.ram_bytes, latency_ms or budget.latency_ms
