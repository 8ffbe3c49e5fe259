"""Torch helpers of the metrics that run a network; imported only when one of them scores."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinynas.space import Architecture
from tinynas.space.torch_builder import TorchNet, build_torch

# Metrics run torch on one intra-op thread: their networks are small, so threads cost more
# in synchronisation than they save, and a search parallelises across candidates instead. On a
# shared 2-core machine naswot (batch 64, nets under 5M MACs) scored 25 arch/s on one thread
# and 4.6 arch/s on two.
TORCH_THREADS = 1


@contextlib.contextmanager
def torch_scope(seed: int) -> Iterator[None]:
    """Seeds torch inside a forked CPU RNG on ``TORCH_THREADS`` threads; restores the caller's
    RNG, grad mode and thread count on exit."""
    grad_enabled, threads = torch.is_grad_enabled(), torch.get_num_threads()
    try:
        torch.set_num_threads(TORCH_THREADS)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        torch.set_num_threads(threads)


def build_net(arch: Architecture, seed: int, train: bool = True) -> TorchNet:
    """`build_torch(arch)` after ``torch.manual_seed(seed)``, in train or eval mode.

    Train mode makes batch norm use the batch's statistics, as the reference implementations
    of the metrics do at initialisation (the nets have no dropout).
    """
    torch.manual_seed(seed)
    net = build_torch(arch)
    net.train(train)
    return net


def as_tensors(batch: tuple[np.ndarray, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """A checked batch as float32 images and int64 labels."""
    return torch.from_numpy(batch[0]), torch.from_numpy(batch[1])


def weight_layers(net: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """The convolution and dense layers of `net`, in module order."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def cross_entropy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy loss of `net` on a batch."""
    return F.cross_entropy(net(x), y)


def gradients(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """dL/dW of every weight layer (zeros where a weight does not reach the loss)."""
    weights = [layer.weight for layer in weight_layers(net)]
    grads = torch.autograd.grad(cross_entropy(net, x, y), weights, allow_unused=True)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads, strict=True)]


def total(values: Iterable[torch.Tensor]) -> torch.Tensor:
    """The sum of tensors' elements, over all of them (0 for none)."""
    sums = [v.sum() for v in values]
    return torch.stack(sums).sum() if sums else torch.zeros(())


def drop_batch_norm(net: TorchNet) -> TorchNet:
    """`net` with every batch-norm layer removed (its convolution is kept, without a bias)."""
    for name, layer in list(net.layers.items()):
        if isinstance(layer, nn.Sequential):
            net.layers[name] = layer[0]
    return net


def forward_hooked(net: nn.Module, x: torch.Tensor, modules: Iterable[nn.Module],
                   hook: Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]
                   ) -> None:  # fmt: skip
    """One forward pass of `x` without gradients, `hook(module, inputs, output)` called by
    each of `modules`; the hooks are removed afterwards, whatever happens."""
    handles = [module.register_forward_hook(hook) for module in modules]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()


def input_jacobian(
    arch: Architecture, batch: tuple[np.ndarray, np.ndarray], seed: int
) -> np.ndarray:
    """J: per-sample gradients of the summed outputs with respect to the input, (N, D) float64.

    The network is in train mode, as naswot v1 and EPE-NAS compute it.
    """
    net = build_net(arch, seed, train=True)
    x = torch.from_numpy(batch[0]).clone().requires_grad_(True)
    with torch.enable_grad():
        net(x).sum().backward()
    assert x.grad is not None
    return x.grad.reshape(len(x), -1).numpy().astype(np.float64)
