"""A trained network's weights on disk: a torch state dict in a ``.pt`` file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tinynas.space import Architecture

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet


def save_net(net: TorchNet, path: Path) -> None:
    """Writes `net`'s state dict to `path`, creating its folder."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)


def load_net(arch: Architecture, path: Path) -> TorchNet:
    """A network of `arch` holding the weights that `save_net` wrote to `path`."""
    import torch

    from tinynas.space.torch_builder import build_torch

    net = build_torch(arch)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net
