"""The supernet's sub-networks as a define-by-run list of decisions (`tinynas.search.Schema`),
so the strategies that model decisions (the REINFORCE controller, OFA's evolution) search
them: per stage its depth, its width, then each of its layers' kernel."""

from __future__ import annotations

from typing import Any

from tinynas.space import Architecture
from tinynas.supernet._elastic import SubnetConfig, SupernetSpace, subnet_architecture


class SupernetSchema:
    """The decisions of a `SupernetSpace`'s sub-networks (module docstring)."""

    def __init__(self, space: SupernetSpace) -> None:
        self.space = space

    def build(self, t: Any) -> Architecture:
        return subnet_architecture(self.space, self.config(t))

    def config(self, t: Any) -> SubnetConfig:
        """The sub-network `t`'s answers describe."""
        depths, widths, kernels = [], [], []
        for i, options in enumerate(self.space.widths):
            d = t.suggest_categorical(f"s{i}_depth", list(self.space.depths))
            widths.append(t.suggest_categorical(f"s{i}_width", list(options)))
            kernels.append(tuple(t.suggest_categorical(f"s{i}l{j}_kernel",
                                                       list(self.space.kernels))
                                 for j in range(d)))
            depths.append(d)
        return SubnetConfig(tuple(depths), tuple(widths), tuple(kernels))

    def value(self, arch: Architecture, name: str) -> Any:
        stage, _, what = name.partition("_")
        if "l" in stage:
            i, j = (int(v) for v in stage[1:].split("l"))
            return arch.blocks[i].layers[j].kernel_size
        block = arch.blocks[int(stage[1:])]
        return len(block.layers) if what == "depth" else block.layers[0].filters


def config_of(space: SupernetSpace, arch: Architecture) -> SubnetConfig:
    """The sub-network `arch` is (ValueError when it is none of `space`'s)."""
    from tinynas.search import Recorder

    schema = SupernetSchema(space)
    try:
        config = schema.config(Recorder(schema, arch))
        same = subnet_architecture(space, config) == arch
    except (IndexError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a sub-network of this supernet: {exc}") from exc
    if not same:
        raise ValueError("not a sub-network of this supernet")
    return config
