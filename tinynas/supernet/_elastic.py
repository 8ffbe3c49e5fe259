"""A weight-sharing supernet of the regular space, with elastic depth, width and kernel size.

Once-for-All (Cai et al., ICLR 2020) trains one network whose sub-networks are its slices:
a stage runs its first d layers (elastic depth), a layer its first w output channels (elastic
width), a convolution the centre of its largest kernel (elastic kernel). A smaller kernel is
not the bare centre of a larger one: OFA passes the centre through a learned linear map, one
per layer and kernel size (25 x 25 for 7 -> 5, 9 x 9 for 5 -> 3), shared by every channel, so
that the small kernel can differ from the centre of the large one the bigger sub-networks use.

The supernet here spans the regular space (`tinynas.space.sample_regular`'s shape): stages of
full convolutions with batch norm and ReLU, each later stage starting with a stride-2 layer,
then global average pooling and the classifier. A sub-network (`SubnetConfig`) is also an
ordinary `Architecture` (`subnet_architecture`), and `extract` copies its inherited weights
into the `TorchNet` of that architecture, which computes exactly what the supernet computes
for that configuration: from there it trains, converts and exports as any candidate does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling

if TYPE_CHECKING:
    import torch

    from tinynas.space.torch_builder import TorchNet

KERNELS = (3, 5, 7)
DEPTHS = (1, 2, 3)
BN_EPSILON = 1e-3  # as the torch builder and the Keras twin


@dataclass(frozen=True)
class SupernetSpace:
    """What the supernet spans: per stage the width options (ascending); depths and kernels
    shared by every stage."""

    input_shape: tuple[int, ...]
    num_classes: int
    widths: tuple[tuple[int, ...], ...] = ((8, 12, 16), (16, 24, 32), (32, 48, 64))
    depths: tuple[int, ...] = DEPTHS
    kernels: tuple[int, ...] = KERNELS

    @property
    def largest(self) -> SubnetConfig:
        d = max(self.depths)
        return SubnetConfig(tuple(d for _ in self.widths), tuple(w[-1] for w in self.widths),
                            tuple(tuple(max(self.kernels) for _ in range(d))
                                  for _ in self.widths))


@dataclass(frozen=True)
class SubnetConfig:
    """One sub-network: per stage its depth, its width, and each of its layers' kernel."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    kernels: tuple[tuple[int, ...], ...]

    def check(self, space: SupernetSpace) -> None:
        """Raises ValueError unless this configuration is one of `space`."""
        if not len(self.depths) == len(self.widths) == len(self.kernels) == len(space.widths):
            raise ValueError(f"a sub-network of this supernet has {len(space.widths)} stages")
        for i, (d, w, ks) in enumerate(zip(self.depths, self.widths, self.kernels)):
            if d not in space.depths or w not in space.widths[i] or len(ks) != d \
                    or any(k not in space.kernels for k in ks):
                raise ValueError(f"stage {i}: depth {d}, width {w}, kernels {ks} are not "
                                 "options of this supernet")


def subnet_architecture(space: SupernetSpace, config: SubnetConfig) -> Architecture:
    """The sub-network as an ordinary architecture of the μNAS template."""
    config.check(space)
    blocks = tuple(
        ConvBlock(tuple(ConvLayer("conv2d", k, w, 2 if i and j == 0 else 1, batch_norm=True,
                                  relu=True) for j, k in enumerate(ks)))
        for i, (w, ks) in enumerate(zip(config.widths, config.kernels)))
    return Architecture(tuple(space.input_shape), space.num_classes, blocks,
                        Pooling("global", 0), ())


def centre(w: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """The centre kh x kw of a square kernel `w` (the kernel a small feature map clips to)."""
    top, left = (w.shape[-2] - kh) // 2, (w.shape[-1] - kw) // 2
    return w[..., top:top + kh, left:left + kw]


def _module_types() -> tuple[Any, Any]:
    """The supernet's torch modules, defined on first use (torch is imported lazily)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tinynas.space.torch_builder import same_padding

    class ElasticConv(nn.Module):
        """A conv + batch norm + ReLU layer at its largest width, input and kernel, sliced
        and transformed for smaller ones (module docstring)."""

        def __init__(self, in_channels: int, out_channels: int, kernels: tuple[int, ...],
                     stride: int) -> None:
            super().__init__()
            big = max(kernels)
            self.kernels, self.stride = tuple(sorted(kernels)), stride
            self.weight = nn.Parameter(torch.empty(out_channels, in_channels, big, big))
            nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
            self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPSILON)
            # one map per smaller kernel: from the next larger kernel's centre, identity at first
            self.transforms = nn.ParameterDict({
                str(k): nn.Parameter(torch.eye(k * k)) for k in self.kernels[:-1]})

        def kernel(self, k: int, out_channels: int, in_channels: int) -> torch.Tensor:
            """The k x k weights of the first out x in channels."""
            w = self.weight[:out_channels, :in_channels]
            for size in sorted(self.kernels, reverse=True)[1:]:
                if size < k:
                    break
                start = (w.shape[-1] - size) // 2
                centre = w[..., start:start + size, start:start + size]
                flat = centre.reshape(*centre.shape[:2], size * size) @ \
                    self.transforms[str(size)]
                w = flat.reshape(*centre.shape[:2], size, size)
            return w

        def forward(self, x: torch.Tensor, out_channels: int, k: int) -> torch.Tensor:
            # a kernel larger than the feature map is clipped to it, as the space lowers it
            kh, kw = min(k, x.shape[2]), min(k, x.shape[3])
            w = centre(self.kernel(k, out_channels, x.shape[1]), kh, kw)
            top, bottom = same_padding(x.shape[2], kh, self.stride)
            left, right = same_padding(x.shape[3], kw, self.stride)
            x = F.conv2d(F.pad(x, (left, right, top, bottom)), w, stride=self.stride)
            bn = self.bn
            use_batch = self.training or bn.running_mean is None
            x = F.batch_norm(
                x, None if bn.running_mean is None else bn.running_mean[:out_channels],
                None if bn.running_var is None else bn.running_var[:out_channels],
                bn.weight[:out_channels], bn.bias[:out_channels], use_batch,
                bn.momentum or 0.0, bn.eps)
            return F.relu(x)

    class Supernet(nn.Module):
        """The supernet of a `SupernetSpace`; `forward(x, config)` runs one sub-network."""

        def __init__(self, space: SupernetSpace) -> None:
            super().__init__()
            self.space = space
            channels = space.input_shape[-1] if len(space.input_shape) == 3 else 1
            self.stages = nn.ModuleList()
            for i, widths in enumerate(space.widths):
                layers = nn.ModuleList()
                for j in range(max(space.depths)):
                    stride = 2 if i and j == 0 else 1
                    layers.append(ElasticConv(channels, widths[-1], space.kernels, stride))
                    channels = widths[-1]
                self.stages.append(layers)
            self.classifier = nn.Linear(channels, space.num_classes)

        def forward(self, x: torch.Tensor, config: SubnetConfig) -> torch.Tensor:
            x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW, as the torch builder
            for layers, d, w, ks in zip(self.stages, config.depths, config.widths,
                                        config.kernels):
                for j in range(d):
                    x = layers[j](x, w, ks[j])  # type: ignore[index]
            x = x.mean(dim=(2, 3))
            return F.linear(x, self.classifier.weight[:, :x.shape[1]], self.classifier.bias)

    return ElasticConv, Supernet


def build_supernet(space: SupernetSpace) -> Any:
    """The supernet module of `space` (torch; freshly initialised)."""
    if len(space.input_shape) != 3:
        raise ValueError("the supernet takes images (H, W, C)")
    _, supernet = _module_types()
    return supernet(space)


def extract(supernet: Any, config: SubnetConfig) -> TorchNet:
    """The `TorchNet` of `subnet_architecture(config)` holding the supernet's weights for it
    (kernels transformed, channels sliced, batch-norm statistics as they are)."""
    import torch

    from tinynas.space import lower
    from tinynas.space.torch_builder import build_torch

    arch = subnet_architecture(supernet.space, config)
    net = build_torch(arch)
    clipped = {n.name: n.kernel for n in lower(arch)}
    in_channels = supernet.space.input_shape[-1]
    with torch.no_grad():
        for i, (d, w, ks) in enumerate(zip(config.depths, config.widths, config.kernels)):
            for j in range(d):
                layer = supernet.stages[i][j]
                conv, bn = net.layers[f"b{i}l{j}"]  # type: ignore[misc]  # conv, batch norm
                kernel = centre(layer.kernel(ks[j], w, in_channels), *clipped[f"b{i}l{j}"])
                conv.weight.copy_(kernel)  # type: ignore[has-type]
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(bn, name).copy_(getattr(layer.bn, name)[:w])  # type: ignore[has-type]
                in_channels = w
        classifier: Any = net.layers["classifier"]
        classifier.weight.copy_(supernet.classifier.weight[:, :in_channels])
        classifier.bias.copy_(supernet.classifier.bias)
    return net


def channel_importance(supernet: Any) -> list[torch.Tensor]:
    """Per stage, each output channel's importance: the L1 norm of every weight that reads it
    (the stage's later layers, the next stage's first layer or the classifier), as OFA ranks
    channels before it lets widths shrink."""
    stages = supernet.stages
    out = []
    for i, layers in enumerate(stages):
        readers = [layer.weight for layer in list(layers)[1:]]
        readers.append(stages[i + 1][0].weight if i + 1 < len(stages)
                       else supernet.classifier.weight)
        out.append(sum(w.detach().abs().transpose(0, 1).reshape(w.shape[1], -1).sum(dim=1)
                       for w in readers))
    return out


def sort_channels(supernet: Any, optimizer: Any = None) -> list[torch.Tensor]:
    """Reorders every stage's channels by descending importance (`channel_importance`), so
    that a narrower sub-network keeps the most important ones (OFA, before elastic width),
    and returns the orders. Every layer of a stage shares one order, because any of them may
    be the one the next stage reads. Each sub-network at full width computes what it did;
    the optimiser's momentum buffers are reordered with the weights they belong to."""
    import torch

    orders = [torch.argsort(importance, descending=True, stable=True)
              for importance in channel_importance(supernet)]
    state = optimizer.state if optimizer is not None else {}

    def take(param: torch.Tensor, order: torch.Tensor, dim: int) -> None:
        with torch.no_grad():
            param.copy_(param.index_select(dim, order))
        buffer = state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            buffer.copy_(buffer.index_select(dim, order))

    stages = supernet.stages
    for i, (layers, order) in enumerate(zip(stages, orders)):
        for j, layer in enumerate(layers):
            take(layer.weight, order, 0)
            if j:
                take(layer.weight, order, 1)
            for name in ("weight", "bias"):
                take(getattr(layer.bn, name), order, 0)
            for name in ("running_mean", "running_var"):
                stat = getattr(layer.bn, name)
                stat.copy_(stat.index_select(0, order))
        take(stages[i + 1][0].weight if i + 1 < len(stages) else supernet.classifier.weight,
             order, 1)
    return orders


def config_count(space: SupernetSpace) -> int:
    """How many distinct sub-networks the supernet holds."""
    per_stage = [sum(len(space.kernels) ** d for d in space.depths) * len(w)
                 for w in space.widths]
    return math.prod(per_stage)
