"""Training the supernet once by progressive shrinking, and recalibrating a sub-network.

Once-for-All (Cai et al., ICLR 2020) trains the largest network first, then lets the
sub-networks in one dimension at a time: elastic kernel, then elastic depth, then elastic
width, each phase sampling sub-networks from everything let in so far, so that training the
small ones does not disturb the large ones before they are good. Before the width phase the
channels are sorted by importance (`sort_channels`), so the narrow slices start from the
channels that matter most. Each step here trains the
largest sub-network on the labels and SAMPLES_PER_STEP sampled ones on the labels and on the
largest's soft outputs of the same batch (in-place distillation: Yu et al., BigNAS, ECCV 2020,
and Yu & Huang, slimmable networks, ICCV 2019), their gradients summed. The recipe is the
search's (SGD with Nesterov momentum, warm-up then cosine per phase, batch 256).

A checkpoint (weights, optimiser, phase and epoch) is written after every epoch, so a killed
training resumes at the next epoch with the same result. Batch-norm statistics are shared by
sub-networks of different widths, so a sub-network's are recalibrated before it is judged:
`recalibrate` resets them in its extracted network and averages them over a few batches
(OFA: 2,000 images).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.supernet._elastic import (
    SubnetConfig,
    SupernetSpace,
    build_supernet,
    extract,
    sort_channels,
)

PHASES = ("largest", "kernel", "depth", "width")
SAMPLES_PER_STEP = 2
RECALIBRATION_IMAGES = 2000
DISTILL_TEMPERATURE = 1.0


@dataclass(frozen=True)
class SupernetRecipe:
    epochs_per_phase: float = 5.0
    batch_size: int = 256
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    distill_weight: float = 0.5  # share of the largest's soft outputs in a sampled one's loss
    seed: int = 0


def sample_config(space: SupernetSpace, phase: str, rng: random.Random) -> SubnetConfig:
    """A sub-network of what `phase` lets in (module docstring)."""
    largest = space.largest
    elastic = PHASES[:PHASES.index(phase) + 1]
    depths = tuple(rng.choice(space.depths) if "depth" in elastic else max(space.depths)
                   for _ in space.widths)
    widths = tuple(rng.choice(w) if "width" in elastic else w[-1] for w in space.widths)
    kernels = tuple(tuple(rng.choice(space.kernels) if "kernel" in elastic
                          else max(space.kernels) for _ in range(d)) for d in depths)
    return largest if phase == "largest" else SubnetConfig(depths, widths, kernels)


def train_supernet(space: SupernetSpace, x: np.ndarray, y: np.ndarray, recipe: SupernetRecipe,
                   checkpoint: Path | None = None,
                   on_epoch: Callable[[str, int, float], None] | None = None) -> Any:
    """Trains a supernet of `space` on (x, y) by progressive shrinking and returns it; with
    `checkpoint`, resumes from it when it exists and writes it after every epoch."""
    import torch
    import torch.nn.functional as F

    from tinynas.train import lr_at

    torch.manual_seed(recipe.seed)
    net = build_supernet(space)
    opt = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                          nesterov=True, weight_decay=recipe.weight_decay)
    start_phase, start_epoch = 0, 0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        start_phase, start_epoch = state["phase"], state["epoch"]
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    steps = max(1, math.ceil(len(xt) / recipe.batch_size))
    epochs = max(1, math.ceil(recipe.epochs_per_phase))
    total = epochs * steps
    net.train()
    for p in range(start_phase, len(PHASES)):
        phase = PHASES[p]
        for epoch in range(start_epoch if p == start_phase else 0, epochs):  # resumed: the next
            if phase == "width" and epoch == 0:
                sort_channels(net, opt)  # narrower widths keep the most important channels
            # every epoch's draws come from its own seed, so a resumed epoch is the same
            gen = torch.Generator().manual_seed(recipe.seed * 1000 + p * 100 + epoch)
            rng = random.Random(f"{recipe.seed}-{p}-{epoch}")
            order = torch.randperm(len(xt), generator=gen)
            clock = time.perf_counter()
            for k in range(steps):
                step = epoch * steps + k
                for group in opt.param_groups:
                    group["lr"] = lr_at(step, total, steps, recipe.lr)
                idx = order[k * recipe.batch_size:(k + 1) * recipe.batch_size]
                xb, yb = xt[idx], yt[idx]
                opt.zero_grad(set_to_none=True)
                logits = net(xb, space.largest)
                F.cross_entropy(logits, yb).backward()
                if phase != "largest":
                    soft = F.softmax(logits.detach() / DISTILL_TEMPERATURE, dim=1)
                    for _ in range(SAMPLES_PER_STEP):
                        sub = net(xb, sample_config(space, phase, rng))
                        kd = F.kl_div(F.log_softmax(sub / DISTILL_TEMPERATURE, dim=1), soft,
                                      reduction="batchmean")
                        w = recipe.distill_weight
                        ((1 - w) * F.cross_entropy(sub, yb) + w * kd).backward()
                opt.step()
            if checkpoint is not None:
                tmp = checkpoint.with_name(checkpoint.name + ".tmp")
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "phase": p,
                            "epoch": epoch + 1, "recipe": asdict(recipe)}, tmp)
                tmp.replace(checkpoint)  # whole, or the previous one
            if on_epoch is not None:
                on_epoch(phase, epoch, time.perf_counter() - clock)
    return net.eval()


def recalibrate(supernet: Any, config: SubnetConfig, x: np.ndarray,
                images: int = RECALIBRATION_IMAGES, batch_size: int = 256) -> Any:
    """The extracted sub-network with batch-norm statistics averaged over the first `images`
    of `x` (forward passes only), in eval mode."""
    import torch

    net = extract(supernet, config)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the batches below
    net.train()
    data = torch.as_tensor(x[:images])
    with torch.no_grad():
        for k in range(0, len(data), batch_size):
            net(data[k:k + batch_size])
    return net.eval()
