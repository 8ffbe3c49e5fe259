"""What a training costs on this machine: seconds per epoch, measured by timing a few steps.

A search with a time budget plans its stages from these figures (`tinynas.pipeline`), so they
are measured with the recipe's own step (forward, loss, backward, SGD update) at the recipe's
batch size, on the device and with the CPU threads the training will get. The first step is
not timed: it allocates the buffers and, on a GPU, compiles kernels.
"""

from __future__ import annotations

import math
import time

import numpy as np

from tinynas.space import Architecture
from tinynas.train._loop import TrainConfig, fit_inputs, pick_device

TIMED_STEPS = 3  # steps timed after the untimed first one


def measure_epoch_seconds(arch: Architecture, x: np.ndarray, num_images: int,
                          config: TrainConfig | None = None, threads: int = 0,
                          device: str | None = None, steps: int = TIMED_STEPS) -> float:
    """The measured seconds of one training epoch of `arch` on `num_images` images, from
    `steps` timed steps on batches of `x` (random labels: the cost does not depend on them).

    `threads` > 0 trains on that many CPU threads for the measurement (the share a worker
    process gets); the process's setting is restored afterwards.
    """
    import torch

    from tinynas.space.torch_builder import build_torch

    config = config or TrainConfig()
    device = device or pick_device()
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        net = build_torch(arch).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                              nesterov=True, weight_decay=config.weight_decay)
        batch = min(config.batch_size, len(x))
        xb = fit_inputs(torch.as_tensor(x[:batch], device=device), arch.input_shape)
        yb = torch.randint(0, arch.num_classes, (batch,), device=device)
        net.train()
        elapsed = 0.0
        for step in range(steps + 1):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if device == "cuda":
                torch.cuda.synchronize()
            if step:  # the first step allocates; it is not what an epoch's steps cost
                elapsed += time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
    return elapsed / steps * math.ceil(num_images / batch)
