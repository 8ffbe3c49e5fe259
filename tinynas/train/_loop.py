"""A plain torch training loop for small CNNs; `TrainConfig` is its recipe.

The whole dataset is held as tensors on the training device (no data loader: these networks
are tiny and the loader would dominate). Every recipe optimises with SGD with Nesterov
momentum 0.9, weight decay 5e-4, batch 256, peak learning rate 0.05 reached by a linear
warm-up over the first epoch (or the first fifth of a shorter run), then cosine decay to zero
(without the warm-up about 1 run in 50 collapses to chance at this scale). A recipe may add
augmentation (flips, random erasing), label smoothing, a weight average and distillation from
a teacher's soft targets; the recipes a search trains with are in `_recipe.py`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinynas.space import Architecture

if TYPE_CHECKING:
    import torch

    from tinynas.space.torch_builder import TorchNet


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 10.0  # fractional epochs allowed (successive halving's first rungs)
    batch_size: int = 256
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    flip: bool = False  # random horizontal flips (images whose classes are mirror-invariant)
    erase_p: float = 0.0  # chance that an image has one random rectangle erased (random_erase)
    label_smoothing: float = 0.0  # cross-entropy target smoothing (torch's label_smoothing)
    ema_decay: float = 0.0  # > 0: the result is an exponential moving average of the weights
    distill_weight: float = 0.0  # share of the teacher's soft targets in the loss (train's soft)
    distill_temperature: float = 4.0  # softmax temperature of distillation (Hinton et al. 2015)


@dataclass(frozen=True)
class SoftTargets:
    """A teacher's logits for every training image, and for its mirror image when the recipe
    flips: the distillation targets of `train`. Random erasing and shifts leave the target as it
    was for the whole image (the teacher saw it unharmed)."""

    logits: np.ndarray  # (N, classes)
    mirrored: np.ndarray | None = None  # (N, classes): the images flipped left to right


@dataclass(frozen=True)
class TrainResult:
    net: TorchNet
    val_accuracy: float  # float accuracy on the validation inputs given to `train`
    train_seconds: float
    epochs: float
    device: str  # "cpu" or "cuda"
    curve: tuple[float, ...] = ()  # validation accuracy after each whole epoch (curve=True)


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fit_inputs(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Resizes channels-last image batches to an architecture's input shape (bilinear, with
    antialiasing) when a strategy changed the resolution; other inputs pass unchanged."""
    import torch.nn.functional as F

    if tuple(x.shape[1:]) == tuple(shape) or x.dim() != 4:
        return x
    y = F.interpolate(x.permute(0, 3, 1, 2), size=shape[:2], mode="bilinear",
                      antialias=True, align_corners=False)
    return y.permute(0, 2, 3, 1).contiguous()


def random_erase(x: torch.Tensor, p: float, gen: torch.Generator,
                 area: tuple[float, float] = (0.02, 0.4),
                 aspect: tuple[float, float] = (0.3, 3.3)) -> torch.Tensor:
    """Random erasing (Zhong et al., AAAI 2020): with chance `p` per image of a channels-last
    batch, one rectangle of a random share of the image's area (`area`) and random aspect ratio
    (log-uniform in `aspect`) is set to zero at a random position. Their defaults are used."""
    import torch

    n, h, w, _ = x.shape
    dev = x.device
    u = torch.rand(4, n, device=dev, generator=gen)
    target = (area[0] + (area[1] - area[0]) * u[0]) * h * w
    log_lo, log_hi = math.log(aspect[0]), math.log(aspect[1])
    ratio = torch.exp(log_lo + (log_hi - log_lo) * u[1])
    eh = torch.sqrt(target * ratio).round().clamp(1, h).long()
    ew = torch.sqrt(target / ratio).round().clamp(1, w).long()
    top = (u[2] * (h - eh + 1).float()).long()
    left = (u[3] * (w - ew + 1).float()).long()
    rows = torch.arange(h, device=dev)[None, :]
    cols = torch.arange(w, device=dev)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
    chosen = torch.rand(n, device=dev, generator=gen) < p
    erased = in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None]
    return x.masked_fill(erased[..., None], 0.0)


class _WeightAverage:
    """An exponential moving average of a network's parameters and batch-norm statistics
    (Polyak averaging). The decay ramps up as in TensorFlow's ExponentialMovingAverage with
    num_updates, min(decay, (1 + t) / (10 + t)) at update t, so the first, untrained weights
    fade out quickly in short runs too."""

    def __init__(self, net: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        # state_dict() tensors share storage with the network's, so the pairs stay live
        live = net.state_dict()
        self.state = {k: v.detach().clone() for k, v in live.items()}
        self._pairs = [(self.state[k], v) for k, v in live.items()]

    def update(self) -> None:
        import torch

        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        with torch.no_grad():
            for avg, v in self._pairs:
                if v.is_floating_point():
                    avg.lerp_(v, 1 - d)
                else:  # counters such as num_batches_tracked follow the network
                    avg.copy_(v)

    def copy_to(self, net: torch.nn.Module) -> None:
        net.load_state_dict(self.state)


class _DistillTargets:
    """The soft targets of `train` on its device, and the loss that mixes them in."""

    def __init__(self, soft: SoftTargets, config: TrainConfig, device: str) -> None:
        import torch

        self.logits = torch.as_tensor(soft.logits, dtype=torch.float32, device=device)
        self.mirrored = (None if soft.mirrored is None else
                         torch.as_tensor(soft.mirrored, dtype=torch.float32, device=device))
        self.weight = config.distill_weight
        self.t = config.distill_temperature

    def mix(self, loss: torch.Tensor, logits: torch.Tensor, idx: torch.Tensor,
            flipped: torch.Tensor | None) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        target = self.logits[idx]
        if flipped is not None:
            if self.mirrored is None:
                raise ValueError("the recipe flips images but the soft targets have no mirror")
            target = torch.where(flipped[:, None], self.mirrored[idx], target)
        kd = F.kl_div(F.log_softmax(logits / self.t, dim=1), F.log_softmax(target / self.t, dim=1),
                      reduction="batchmean", log_target=True) * self.t**2
        return (1 - self.weight) * loss + self.weight * kd


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * peak * (1 + math.cos(math.pi * progress))


def predict_logits(net: TorchNet, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The logits of `net` for every input of `x`, in batches (eval mode; restores the
    previous mode)."""
    import torch

    was_training = net.training
    net.eval()
    x = fit_inputs(x, net.arch.input_shape)
    try:
        with torch.no_grad():
            out = [net(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, net.arch.num_classes), device=x.device)


def evaluate(net: TorchNet, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Float accuracy of `net` on (x, y) (eval mode; restores the previous mode); NaN when
    there is nothing to evaluate."""
    if not len(x):
        return math.nan
    return int((predict_logits(net, x, batch_size).argmax(1) == y).sum()) / len(x)


def train(
    arch: Architecture,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig = TrainConfig(),
    seed: int = 0,
    net: TorchNet | None = None,
    device: str | None = None,
    on_step: Callable[[int, int], None] | None = None,
    soft: SoftTargets | None = None,
    curve: bool = False,
) -> TrainResult:
    """Trains `net` (a fresh network of `arch` when None) and returns it with its accuracy.

    With `curve`, the validation accuracy is also measured after each whole epoch (the
    learning curve); the evaluation draws no random numbers and changes no weights, so the
    trained network is the same. Its time is not counted in `train_seconds`.

    Passing a `net` continues its training (successive halving promotes networks this way);
    the learning-rate schedule then spans the new epochs only. With `soft` and
    `config.distill_weight` > 0 the loss mixes in knowledge distillation (Hinton et al. 2015):
    (1 - w) * cross-entropy + w * T^2 * KL(teacher || student) at temperature T.
    """
    import torch

    from tinynas.space.torch_builder import build_torch

    device = device or pick_device()
    torch.manual_seed(seed)
    net = (net if net is not None else build_torch(arch)).to(device)
    xt = fit_inputs(torch.as_tensor(x_train, device=device), arch.input_shape)
    yt = torch.as_tensor(y_train, device=device)
    distill = (_DistillTargets(soft, config, device)
               if soft is not None and config.distill_weight > 0 else None)
    steps_per_epoch = max(1, math.ceil(len(xt) / config.batch_size))
    total = max(1, round(config.epochs * steps_per_epoch))
    # at most a fifth of a short run is warm-up
    warmup = max(1, min(total // 5, round(config.warmup_epochs * steps_per_epoch)))
    opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                          nesterov=True, weight_decay=config.weight_decay)
    gen = torch.Generator(device=device).manual_seed(seed)
    ema = _WeightAverage(net, config.ema_decay) if config.ema_decay > 0 else None
    net.train()
    start = time.perf_counter()
    xv = torch.as_tensor(x_val, device=device)
    yv = torch.as_tensor(y_val, device=device)
    accuracies: list[float] = []
    evaluating = 0.0
    order = torch.randperm(len(xt), device=device, generator=gen)
    for step in range(total):
        k = step % steps_per_epoch
        if k == 0 and step:
            order = torch.randperm(len(xt), device=device, generator=gen)
        idx = order[k * config.batch_size:(k + 1) * config.batch_size]
        xb, yb = xt[idx], yt[idx]
        mask = None
        if config.flip and xb.dim() == 4:
            mask = torch.rand(len(xb), device=device, generator=gen) < 0.5
            xb = torch.where(mask[:, None, None, None], xb.flip(2), xb)
        if config.erase_p and xb.dim() == 4:
            xb = random_erase(xb, config.erase_p, gen)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, warmup, config.lr)
        logits = net(xb)
        loss = torch.nn.functional.cross_entropy(logits, yb,
                                                 label_smoothing=config.label_smoothing)
        if distill is not None:
            loss = distill.mix(loss, logits, idx, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update()
        if on_step is not None:
            on_step(step + 1, total)
        if curve and (step + 1) % steps_per_epoch == 0 and step + 1 < total:
            clock = time.perf_counter()
            accuracies.append(evaluate(net, xv, yv))
            evaluating += time.perf_counter() - clock
    if ema is not None:
        ema.copy_to(net)
    seconds = time.perf_counter() - start - evaluating
    accuracy = evaluate(net, xv, yv)
    if curve:
        accuracies.append(accuracy)
    return TrainResult(net.cpu(), accuracy, seconds, config.epochs, device, tuple(accuracies))
