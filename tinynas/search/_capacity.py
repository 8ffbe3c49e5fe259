"""Capacity picks: the regular networks that use the most of the budget, for the shortlist.

A trainingless ranker, fitted on or validated with short trainings, favours networks that
learn fast; those plateau early, and after a long training the better networks are the ones
with more capacity under the same limits (MCUNet, Lin et al. 2020: within a good design
space, more compute under the memory cap means more accuracy). Compute alone is a poor guide
in the full μNAS template, where a 1-channel layer feeding 7x7 kernels at full resolution
costs many MACs and trains badly, so the picks come from the regular design space
(`tinynas.space.sample_regular`): seeded samples that fit the budget, ranked by MACs times
parameters (compute and weights, the two things a memory cap limits), one network per
family first. Successive halving then decides between them and the ranker's picks by
training. Only estimators run here, so a few thousand samples take about a second.
"""

from __future__ import annotations

import random

from tinynas.devices import Device
from tinynas.estimators import Budget, Estimate
from tinynas.search._base import SearchSpace
from tinynas.search._fitting import sample_fitting
from tinynas.search._shortlist import one_per_family_first
from tinynas.space import Architecture, sample_regular

CAPACITY_SAMPLES = 4000  # regular samples screened by the estimators


def capacity(est: Estimate) -> int:
    """The ranking key of a capacity pick: MACs times parameters."""
    return est.macs * est.params


def capacity_pool(space: SearchSpace, device: Device, budget: Budget, seed: int,
                  samples: int = CAPACITY_SAMPLES) -> list[tuple[Architecture, Estimate]]:
    """The regular architectures of `samples` seeded draws that fit `budget`, the highest
    `capacity` first (equal ones by hash): what the capacity picks are chosen from."""
    rng = random.Random(f"capacity-{seed}")
    fitting = sample_fitting(
        lambda r: sample_regular(space.input_shape, space.num_classes, r, space.config),
        rng, device, budget, tries=samples)
    return sorted(fitting, key=lambda p: (-capacity(p[1]), p[0].content_hash))


def capacity_picks(space: SearchSpace, device: Device, budget: Budget, k: int, seed: int,
                   samples: int = CAPACITY_SAMPLES,
                   max_macs: int | None = None) -> list[tuple[Architecture, Estimate]]:
    """Up to `k` regular architectures that fit `budget` (and have at most `max_macs` MACs,
    a time budget's cap on what may be trained), the highest `capacity` first, one per family
    before a second of any; the same arguments always give the same picks."""
    if k <= 0:
        return []
    ranked = [p for p in capacity_pool(space, device, budget, seed, samples)
              if max_macs is None or p[1].macs <= max_macs]
    return one_per_family_first(ranked, lambda p: p[0])[:k]
