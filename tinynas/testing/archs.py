"""Short constructors of layers and blocks for hand-written test architectures."""

from __future__ import annotations

from tinynas.space import ConvBlock, ConvLayer


def conv(filters: int, k: int = 3, s: int = 1, **kw: bool) -> ConvLayer:
    return ConvLayer("conv2d", k, filters, s, **kw)


def dw(k: int = 3, s: int = 1, **kw: bool) -> ConvLayer:
    return ConvLayer("dwconv2d", k, 0, s, **kw)


def pw(filters: int, **kw: bool) -> ConvLayer:
    return ConvLayer("1x1conv2d", 1, filters, 1, **kw)


def serial(*layers: ConvLayer) -> ConvBlock:
    return ConvBlock(tuple(layers))


def parallel(*layers: ConvLayer) -> ConvBlock:
    return ConvBlock(tuple(layers), parallel=True)
