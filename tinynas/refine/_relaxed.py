"""The width relaxation: each layer's channel count becomes a softmax over width options.

The network is built at every layer's widest option; the output channels of a relaxed layer
are multiplied by a monotone mask, m_c = sum_k softmax(alpha)_k [c < width_k], so channel c is
kept in full by every option wide enough to include it and fades with the probability of the
narrower ones (the channel-masking relaxation of FBNetV2, Wan et al. 2020, with RARTS's
shared architecture parameters). Expected widths E[C] = sum_k p_k width_k feed differentiable
estimates of flash, RAM and latency (`expected_resources`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tinynas.space import MAX_FILTERS, MAX_UNITS, Architecture, Node, canonical, lower

if TYPE_CHECKING:
    import torch

MULTIPLIERS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


@dataclass(frozen=True)
class WidthChoice:
    """The width options of one layer (by its graph name, e.g. "b1l0" or "d0")."""

    name: str
    options: tuple[int, ...]  # ascending channel / unit counts
    original: int  # index of the architecture's own width in `options`


def _options(width: int, cap: int) -> tuple[tuple[int, ...], int]:
    values = sorted({min(cap, max(1, round(m * width))) for m in MULTIPLIERS} | {width})
    return tuple(values), values.index(width)


def width_choices(arch: Architecture) -> list[WidthChoice]:
    """The relaxable layers: convolutions whose channel count is free (not depthwise, not the
    last layer of a parallel block, whose width is the block it joins) and hidden dense layers."""
    choices = []
    for i, block in enumerate(arch.blocks):
        for j, layer in enumerate(block.layers):
            last_of_branch = block.parallel and j == len(block.layers) - 1
            if layer.type == "dwconv2d" or last_of_branch:
                continue
            options, original = _options(layer.filters, MAX_FILTERS)
            choices.append(WidthChoice(f"b{i}l{j}", options, original))
    for k, units in enumerate(arch.dense):
        options, original = _options(units, MAX_UNITS)
        choices.append(WidthChoice(f"d{k}", options, original))
    return choices


def with_widths(arch: Architecture, widths: dict[str, int]) -> Architecture:
    """`arch` with the named layers set to the given widths."""
    blocks = []
    for i, block in enumerate(arch.blocks):
        layers = tuple(replace(l, filters=widths.get(f"b{i}l{j}", l.filters))
                       for j, l in enumerate(block.layers))
        blocks.append(replace(block, layers=layers))
    dense = tuple(widths.get(f"d{k}", u) for k, u in enumerate(arch.dense))
    return canonical(replace(arch, blocks=tuple(blocks), dense=dense))


def widest(arch: Architecture, choices: list[WidthChoice]) -> Architecture:
    return with_widths(arch, {c.name: c.options[-1] for c in choices})


class WidthRelaxation:
    """Architecture parameters and channel masks of one relaxed architecture.

    Several networks (RARTS's primary and auxiliary) can be masked by the same relaxation:
    `attach(net)` hooks a network built from `self.supernet`.
    """

    def __init__(self, arch: Architecture, choices: list[WidthChoice], init_bias: float = 1.0):
        import torch

        self.arch = arch
        self.choices = choices
        self.supernet = widest(arch, choices)
        self.alpha = {}
        for c in choices:
            a = torch.zeros(len(c.options))
            a[c.original] = init_bias  # start near the architecture as it was chosen
            self.alpha[c.name] = a.requires_grad_(True)
        # P-DARTS's operation-level dropout (tinynas.refine._pdarts): the chance that a width
        # option narrower than the layer's own is left out of its mask at one forward pass
        # (P-DARTS drops the parameter-free skip connections only); 0 in RARTS and DARTS
        self.option_dropout = 0.0
        self._steps = {c.name: torch.tensor(
            [[1.0 if ch < w else 0.0 for ch in range(c.options[-1])] for w in c.options])
            for c in choices}

    def probabilities(self, name: str) -> torch.Tensor:
        return self.alpha[name].softmax(0)

    def mask(self, name: str) -> torch.Tensor:
        import torch

        p = self.probabilities(name)
        if self.option_dropout > 0:
            narrower = torch.arange(len(p)) < self._choice(name).original
            keep = ((torch.rand(len(p)) >= self.option_dropout) | ~narrower).float()
            p = p * keep / (p * keep).sum()
        return p @ self._steps[name]

    def expected_width(self, name: str) -> torch.Tensor:
        import torch

        options = torch.tensor(self._choice(name).options, dtype=torch.float32)
        return self.probabilities(name) @ options

    def _choice(self, name: str) -> WidthChoice:
        return next(c for c in self.choices if c.name == name)

    def attach(self, net: Any) -> None:
        """Masks the relaxed layers' outputs of `net` (a TorchNet of `self.supernet`), and the
        outputs of the layers whose width follows a relaxed one: a branch's last layer (it takes
        the width of the block it is added to) and a depthwise layer (its bias would otherwise
        give the masked channels a value again)."""
        for name, source in self.mask_sources().items():
            node = next(n for n in net.nodes if n.name == name)
            module = net.relus[name] if node.relu else net.layers[name]
            module.register_forward_hook(self._hook(source, node.op == "FULLY_CONNECTED"))

    def mask_sources(self) -> dict[str, str]:
        """Layer name -> the relaxed layer whose mask applies to its output channels."""
        nodes = lower(self.supernet)
        source: dict[int, str | None] = {}
        layers: dict[str, str] = {}
        for i, node in enumerate(nodes):
            if node.name in self.alpha:
                source[i] = node.name
            elif node.op in ("CONV_2D", "FULLY_CONNECTED", "INPUT") or node.name == "flatten":
                source[i] = None  # a fixed width, or a flatten that mixes channels away
            elif node.op == "ADD":
                a, b = (source[j] for j in node.inputs)
                source[i] = a or b
                for j, other in zip(node.inputs, (b, a)):
                    if source[j] is None and other is not None:
                        layers[_producer(nodes, j).name] = other
            else:
                source[i] = source[node.inputs[0]] if node.inputs else None
                kept = source[i]
                if node.op == "DEPTHWISE_CONV_2D" and kept is not None:
                    layers[node.name] = kept  # its bias would revive masked channels
        layers.update({name: name for name in self.alpha})
        return layers

    def _hook(self, name: str, dense: bool) -> Any:
        def apply(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
            m = self.mask(name)
            return output * (m if dense else m[None, :, None, None])

        return apply

    def discrete_widths(self) -> dict[str, int]:
        """Each layer's most probable width."""
        return {c.name: c.options[int(self.alpha[c.name].argmax())] for c in self.choices}


def _producer(nodes: list[Any], i: int) -> Any:
    """The convolution whose channels reach node `i` through poolings."""
    while nodes[i].op == "MAX_POOL_2D":
        i = nodes[i].inputs[0]
    return nodes[i]


def _window_elements(node: Node, spatial: float, out_elements: Any) -> Any:
    """Positions x kernel taps of a convolution, outputs x window of a pooling (as
    estimators.tflite_graph counts them); 0 for other ops."""
    if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return spatial * node.kernel[0] * node.kernel[1]
    if node.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return out_elements * node.kernel[0] * node.kernel[1]
    return 0.0


def expected_resources(relax: WidthRelaxation, clock_hz: float, latency: Any) -> dict[str, Any]:
    """Differentiable estimates at the expected widths: int8 parameter bytes (flash), the
    largest input + output activation bytes of one op (a smooth proxy of the arena), and the
    per-op cycle model's latency in ms. Formulas as the estimators' (MACs as μNAS counts)."""
    import torch

    nodes = lower(relax.supernet)
    follows = relax.mask_sources()
    channels: list[Any] = []
    elements: list[Any] = []
    flash = torch.tensor(0.0)
    cycles = torch.tensor(0.0)
    live = []
    for node in nodes:
        spatial = float(node.out_elements // node.shape[-1])
        if not node.inputs:
            channels.append(float(node.shape[-1]))
            elements.append(float(node.out_elements))
            continue
        cin, in_elements = channels[node.inputs[0]], elements[node.inputs[0]]
        c: Any
        if node.name in follows:
            c = relax.expected_width(follows[node.name])
        elif node.op in ("CONV_2D", "FULLY_CONNECTED") or node.name == "input_2d":
            c = float(node.shape[-1])
        elif node.name == "flatten":
            c = in_elements
        else:  # depthwise, pooling, add: the input's channels
            c = cin
        out_elements = spatial * c
        channels.append(c)
        elements.append(out_elements)
        macs = _macs(node, cin, c, spatial)
        flash = flash + _weight_bytes(node, cin, c)
        coef = latency.coefficients(node.op)
        cycles = cycles + coef.cycles_per_mac * macs + coef.cycles_per_output * out_elements \
            + coef.cycles_per_window_element * _window_elements(node, spatial, out_elements) \
            + coef.cycles_per_op
        live.append(torch.as_tensor(in_elements + out_elements, dtype=torch.float32))
    ram = torch.logsumexp(torch.stack(live) / 256.0, 0) * 256.0  # smooth max, in bytes
    return {"flash_bytes": flash, "ram_bytes": ram, "latency_ms": 1000.0 * cycles / clock_hz}


def _macs(node: Any, cin: torch.Tensor, cout: torch.Tensor, spatial: float) -> Any:
    kh, kw = node.kernel
    if node.op == "CONV_2D":
        return spatial * kh * kw * cin * cout
    if node.op == "DEPTHWISE_CONV_2D":
        return spatial * kh * kw * cout
    if node.op == "FULLY_CONNECTED":
        return cin * cout
    return 0.0


def _weight_bytes(node: Any, cin: torch.Tensor, cout: torch.Tensor) -> Any:
    """int8 weights, int32 biases and per-channel scales (12 B per channel)."""
    kh, kw = node.kernel
    if node.op == "CONV_2D":
        return kh * kw * cin * cout + 4 * cout + 24 * cout
    if node.op == "DEPTHWISE_CONV_2D":
        return kh * kw * cout + 4 * cout + 24 * cout
    if node.op == "FULLY_CONNECTED":
        return cin * cout + 4 * cout + 24 * cout
    return 0.0
