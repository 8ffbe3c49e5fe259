"""A small CNN trained on sklearn's digits (8x8x1, 10 classes) and exported once per session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tinynas.export import ExportResult
from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling, validate

STEPS = 300
BATCH = 64


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray  # (N, 8, 8, 1) float32 in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Trained:
    arch: Architecture
    net: object  # TorchNet, trained, eval mode
    data: Digits


def digits_arch() -> Architecture:
    """conv (batch norm) -> depthwise stride 2 -> 1x1 conv -> avg pool -> dense 32 -> 10."""
    return validate(Architecture(
        (8, 8, 1), 10,
        (
            ConvBlock((ConvLayer("conv2d", 3, 8, 1, batch_norm=True),
                       ConvLayer("dwconv2d", 3, 0, 2))),
            ConvBlock((ConvLayer("1x1conv2d", 1, 16, 1),)),
        ),
        Pooling("avg", 2),
        (32,),
    ))  # fmt: skip


def load_digits_split(seed: int = 0) -> Digits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], bunch.target[order].astype(np.int64)
    return Digits(x[:1400], y[:1400], x[1400:], y[1400:])


def train(arch: Architecture, data: Digits, steps: int = STEPS, seed: int = 0) -> object:
    """A plain Adam loop on minibatches; one CPU thread (the machine is shared)."""
    import torch
    import torch.nn.functional as F

    from tinynas.space.torch_builder import build_torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        net = build_torch(arch)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        net.train()
        for _ in range(steps):
            batch = torch.randint(0, len(x), (BATCH,))
            optimizer.zero_grad()
            F.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return net.eval()


@pytest.fixture(scope="session")
def digits_architecture() -> Architecture:
    return digits_arch()


@pytest.fixture(scope="session")
def trained() -> Trained:
    arch, data = digits_arch(), load_digits_split()
    return Trained(arch, train(arch, data), data)


@pytest.fixture(scope="session")
def exported(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    from tinynas.export import export_model

    data = trained.data
    return export_model(
        trained.arch, trained.net, tmp_path_factory.mktemp("export") / "digits",  # type: ignore[arg-type]
        dataset_name="digits", test_inputs=data.x_test, test_labels=data.y_test,
        representative=data.x_train[:300],
    )  # fmt: skip

