"""Width refinement of a chosen architecture under a board budget (RARTS or first-order DARTS).

The relaxed network is trained with the method's updates (`_updates.py`) on two halves of the
training data (RARTS's data split: the auxiliary weights see the first half, the primary weights
the second; DARTS's weights see the first, its architecture step the second). A hinge penalty
on the expected flash, RAM and latency keeps the widths within the budget, which by default is
the unrefined network's own resources (so the refined one costs no more) and never more than
the board's. The widths are then made discrete, checked with the exact estimators (a refined
network never exceeds the budget: over-budget widths are narrowed until they fit), retrained
and returned.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from tinynas.devices import Device
from tinynas.estimators import Budget, Estimate, estimate
from tinynas.refine._relaxed import WidthRelaxation, expected_resources, width_choices, with_widths
from tinynas.refine._updates import Rates, darts1_step, rarts_step
from tinynas.space import Architecture

METHODS = ("rarts", "darts1", "pdarts")


@dataclass(frozen=True)
class RefineConfig:
    method: str = "rarts"
    epochs: float = 3.0  # search epochs over the training data
    lam: float = 1.0  # RARTS lambda: weight of the auxiliary (training-half) loss
    beta: float = 1.0  # RARTS beta: coupling of the primary and auxiliary weights
    mu: float = 2.0  # weight of the resource penalty
    batch_size: int = 128
    rates: Rates = field(default_factory=lambda: Rates(weights=0.05, alpha=0.05))
    alpha_optimizer: str = "adam"  # "adam" (as DARTS trains its alphas) or "sgd" (the equations)
    seed: int = 0


@dataclass(frozen=True)
class RefineResult:
    original: Architecture
    refined: Architecture
    widths: dict[str, int]  # relaxed layer -> chosen width
    narrowed: int  # width steps taken away after discretisation to meet the budget
    estimate: Estimate  # exact estimators of the refined network
    budget: Budget
    search_seconds: float
    probabilities: dict[str, list[float]]


def refine_budget(arch: Architecture, device: Device, budget: Budget | None) -> Budget:
    """The unrefined network's own resources, capped by the board's (or given) budget."""
    e = estimate(arch, device)
    board = budget or Budget.for_device(device)
    return Budget(
        flash_bytes=min(e.flash_bytes, board.flash_bytes or e.flash_bytes),
        ram_bytes=min(e.arena_bytes, board.ram_bytes or e.arena_bytes),
        latency_ms=min(e.latency_ms or math.inf, board.latency_ms or math.inf),
        unas_peak_bytes=min(e.unas_peak_bytes, board.unas_peak_bytes or e.unas_peak_bytes),
        unas_size_bytes=min(e.params, board.unas_size_bytes or e.params),
    )


def _penalty(relax: WidthRelaxation, device: Device, arch: Architecture, budget: Budget) -> Any:
    """Hinge on each resource, predicted as the exact estimate of the unrefined network scaled
    by the relaxed estimate's change since initialisation."""
    import torch

    exact = estimate(arch, device)
    with torch.no_grad():
        start = {k: float(v) for k, v in expected_resources(relax, device.clock_hz,
                                                            device.latency).items()}
    limits = {"flash_bytes": (exact.flash_bytes, budget.flash_bytes),
              "ram_bytes": (exact.arena_bytes, budget.ram_bytes),
              "latency_ms": (exact.latency_ms, budget.latency_ms)}

    def penalty() -> torch.Tensor:
        now = expected_resources(relax, device.clock_hz, device.latency)
        total = torch.tensor(0.0)
        for key, (value, limit) in limits.items():
            if limit is None or value is None or not start[key]:
                continue
            predicted = value * now[key] / start[key]
            total = total + torch.relu(predicted / limit - 0.98)  # aim just under the limit
        return total

    return penalty


def _batches(x: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator) -> Any:
    import torch

    while True:
        order = rng.permutation(len(x))
        for k in range(0, len(order) - size + 1, size):
            idx = order[k:k + size]
            yield torch.from_numpy(x[idx]), torch.from_numpy(y[idx])


def search_widths(arch: Architecture, x: np.ndarray, y: np.ndarray, device: Device,
                  budget: Budget, config: RefineConfig) -> tuple[WidthRelaxation, float]:
    """Runs the relaxed search; returns the relaxation and the seconds it took."""
    import torch

    if config.method not in ("rarts", "darts1"):
        raise ValueError(f"method {config.method!r}: choose rarts or darts1 here (pdarts "
                         "searches in stages: tinynas.refine.refine)")
    torch.manual_seed(config.seed)
    relax = WidthRelaxation(arch, width_choices(arch))
    seconds = train_relaxation(relax, arch, x, y, device, budget, config, config.method,
                               config.epochs)
    return relax, seconds


def train_relaxation(relax: WidthRelaxation, arch: Architecture, x: np.ndarray, y: np.ndarray,
                     device: Device, budget: Budget, config: RefineConfig, method: str,
                     epochs: float, seed_offset: int = 0) -> float:
    """Trains `relax` (of `arch`) for `epochs` with `method`'s updates ("rarts" or "darts1")
    under `budget`'s penalty; returns the seconds it took."""
    import torch.nn.functional as F

    from tinynas.space.torch_builder import build_torch

    net_w = build_torch(relax.supernet)
    net_y = build_torch(relax.supernet)
    net_y.load_state_dict(net_w.state_dict())
    for net in (net_w, net_y):
        relax.attach(net)
        net.train()
    half = len(x) // 2
    rng = np.random.default_rng(config.seed + seed_offset)
    data_t = _batches(x[:half], y[:half], config.batch_size, rng)
    data_v = _batches(x[half:], y[half:], config.batch_size, rng)
    penalty = _penalty(relax, device, arch, budget)
    steps = max(1, round(epochs * half / config.batch_size))
    alpha = list(relax.alpha.values())
    w, yp = list(net_w.parameters()), list(net_y.parameters())
    update = _adam(alpha, config.rates.alpha) if config.alpha_optimizer == "adam" else None

    def loss(net: Any, xb: Any, yb: Any) -> Any:
        return F.cross_entropy(net(xb), yb)

    start = time.perf_counter()
    for _ in range(steps):
        xt, yt = next(data_t)
        xv, yv = next(data_v)
        if method == "rarts":
            rarts_step(w, yp, alpha, partial(loss, net_w, xt, yt), partial(loss, net_y, xv, yv),
                       config.lam, config.beta, config.rates, penalty, config.mu, update)
        else:
            darts1_step(w, alpha, partial(loss, net_w, xt, yt), partial(loss, net_w, xv, yv),
                        config.rates, penalty, config.mu, update)
    return time.perf_counter() - start


def _adam(alpha: list[Any], lr: float) -> Any:
    """Applies the update's alpha gradients with Adam (the optimiser DARTS uses for alpha)."""
    import torch

    opt = torch.optim.Adam(alpha, lr=lr, betas=(0.5, 0.999))

    def update(params: Any, grads: Any) -> None:
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()

    return update


def fit_to_budget(arch: Architecture, relax: WidthRelaxation, device: Device,
                  budget: Budget, widths: dict[str, int] | None = None,
                  ) -> tuple[Architecture, dict[str, int], int]:
    """The most probable widths (or `widths`), narrowed one option at a time (the layer whose
    next narrower option is most probable first) until the exact estimators fit the budget."""
    widths = dict(widths) if widths is not None else relax.discrete_widths()
    narrowed = 0
    while True:
        refined = with_widths(arch, widths)
        if not budget.violations(estimate(refined, device)):
            return refined, widths, narrowed
        movable = [c for c in relax.choices if c.options.index(widths[c.name]) > 0]
        if not movable:
            return arch, {c.name: c.options[c.original] for c in relax.choices}, narrowed
        def lower_probability(c: Any) -> float:
            k = c.options.index(widths[c.name]) - 1
            return float(relax.probabilities(c.name)[k].detach())
        choice = max(movable, key=lower_probability)
        widths[choice.name] = choice.options[choice.options.index(widths[choice.name]) - 1]
        narrowed += 1


def refine(arch: Architecture, x: np.ndarray, y: np.ndarray, device: Device,
           config: RefineConfig = RefineConfig(), budget: Budget | None = None) -> RefineResult:
    """Refines `arch`'s widths on (x, y) under `budget` (default: `refine_budget`)."""
    target = budget if budget is not None else refine_budget(arch, device, None)
    if config.method == "pdarts":
        from tinynas.refine._pdarts import pdarts_search

        relax, seconds, refined, widths, narrowed = pdarts_search(arch, x, y, device, target,
                                                                  config)
    else:
        relax, seconds = search_widths(arch, x, y, device, target, config)
        refined, widths, narrowed = fit_to_budget(arch, relax, device, target)
    probabilities = {c.name: [round(float(p), 4) for p in relax.probabilities(c.name).detach()]
                     for c in relax.choices}
    return RefineResult(arch, refined, widths, narrowed, estimate(refined, device), target,
                        seconds, probabilities)
