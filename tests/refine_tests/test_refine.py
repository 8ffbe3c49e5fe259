"""Width refinement: the relaxation, the budget guarantee, and a refined run that passes check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli

from tinynas.devices import get_device
from tinynas.estimators import estimate
from tinynas.refine import (
    RefineConfig,
    WidthRelaxation,
    fit_to_budget,
    refine_budget,
    width_choices,
    with_widths,
)
from tinynas.refine._relaxed import expected_resources
from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling
from tinynas.space.torch_builder import build_torch

BOARD = get_device("nucleo-l4r5zi")


def _arch(pool: int = 2) -> Architecture:
    return Architecture(
        (8, 8, 1), 10,
        (ConvBlock((ConvLayer("conv2d", 3, 12, 1, batch_norm=True),)),
         ConvBlock((ConvLayer("dwconv2d", 3, 0, 2), ConvLayer("1x1conv2d", 1, 16))),
         ConvBlock((ConvLayer("conv2d", 3, 8, 2),), parallel=True)),
        Pooling("avg", pool), (24,),
    )


def test_choices_skip_depthwise_and_branch_ends_and_include_the_original() -> None:
    choices = {c.name: c for c in width_choices(_arch())}
    assert set(choices) == {"b0l0", "b1l1", "d0"}  # b2l0 ends a branch: its width is derived
    for c in choices.values():
        assert list(c.options) == sorted(set(c.options))
    assert choices["b0l0"].options[choices["b0l0"].original] == 12
    assert choices["b1l1"].options == (4, 8, 12, 16, 20, 24)


def test_masks_are_monotone_and_follow_the_probabilities() -> None:
    relax = WidthRelaxation(_arch(), width_choices(_arch()))
    with torch.no_grad():
        relax.alpha["b1l1"].copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))
    mask = relax.mask("b1l1")
    assert torch.all(mask[:-1] >= mask[1:])  # monotone in the channel index
    assert mask[0].item() == pytest.approx(1.0)  # every option keeps channel 0
    assert mask[-1].item() == pytest.approx(1 / 6)  # only the widest keeps the last one
    assert relax.expected_width("b1l1").item() == pytest.approx(sum((4, 8, 12, 16, 20, 24)) / 6)


def test_a_branch_end_is_masked_like_the_block_it_joins() -> None:
    relax = WidthRelaxation(_arch(), width_choices(_arch()))
    assert relax.mask_sources()["b2l0"] == "b1l1"


def test_masked_supernet_at_a_one_hot_alpha_equals_the_narrow_network() -> None:
    """With all probability on one option, the supernet's masked channels contribute nothing:
    its outputs are those of the network of that width with the same weights (pooled to 1x1,
    so that the first dense layer's inputs are the channels in order)."""
    arch = _arch(pool=4)
    relax = WidthRelaxation(arch, width_choices(arch), init_bias=60.0)
    torch.manual_seed(0)
    net = build_torch(relax.supernet).eval()
    relax.attach(net)
    narrow = build_torch(arch).eval()
    narrow_state = narrow.state_dict()
    for key, value in net.state_dict().items():
        target = narrow_state[key]
        narrow_state[key] = value[tuple(slice(0, n) for n in target.shape)]
    narrow.load_state_dict(narrow_state)
    x = torch.rand(3, 8, 8, 1)
    assert torch.allclose(net(x), narrow(x), atol=1e-4)


def test_expected_latency_at_the_original_widths_equals_the_prediction() -> None:
    arch = _arch()
    relax = WidthRelaxation(arch, width_choices(arch), init_bias=60.0)
    with torch.no_grad():
        got = expected_resources(relax, BOARD.clock_hz, BOARD.latency)["latency_ms"].item()
    assert got == pytest.approx(estimate(arch, BOARD).latency_ms, rel=1e-3)


def test_discrete_widths_are_narrowed_until_the_exact_estimators_fit() -> None:
    arch = _arch()
    relax = WidthRelaxation(arch, width_choices(arch))
    with torch.no_grad():
        for a in relax.alpha.values():
            a.copy_(torch.arange(len(a), dtype=torch.float32) * 5)  # widest options win
    budget = refine_budget(arch, BOARD, None)
    widest = with_widths(arch, relax.discrete_widths())
    assert budget.violations(estimate(widest, BOARD))  # the widest network is over budget
    refined, widths, narrowed = fit_to_budget(arch, relax, BOARD, budget)
    assert narrowed > 0
    assert not budget.violations(estimate(refined, BOARD))
    assert refined == with_widths(arch, widths)


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.cli
def test_refined_run_costs_no_more_and_passes_check(tmp_path: Path) -> None:
    from tinynas.refine._run import refine_run
    from tinynas.store import CandidateStatus, RunStore

    arch = _arch()
    run = tmp_path / "run"
    with RunStore.create(run, {"device": BOARD.name, "dataset": "digits", "seed": 0,
                               "train_subset": 400}) as store:
        record = store.add_candidate(arch, CandidateStatus.TRAINED,
                                     estimate(arch, BOARD).to_dict())
        store.set_chosen(record.id)
    summary = refine_run(run, RefineConfig(method="rarts", epochs=0.5), retrain_epochs=0.5)
    before, after = estimate(arch, BOARD), summary["estimate"]
    assert after["flash_bytes"] <= before.flash_bytes
    assert after["arena_bytes"] <= before.arena_bytes
    assert after["latency_ms"] <= before.latency_ms + 1e-9
    model = Path(summary["out"]) / "model.tflite"
    result = run_cli("check", model, "--device", BOARD.name)
    assert result.returncode == 0, result.stdout + result.stderr
    with RunStore.open(run, writable=False) as store:
        stages = [t.stage for t in store.trainings()]
    assert "refine-rarts" in stages
    assert np.isfinite(summary["test_accuracy"])


def test_budget_is_the_networks_own_and_keeps_the_unas_peak() -> None:
    """A run searched under a μNAS peak limit is refined under it too: the refinement budget
    takes the unrefined network's own peak, capped by the limit."""
    from tinynas.estimators import Budget

    device = BOARD
    arch = _arch()
    own = estimate(arch, device)
    budget = refine_budget(arch, device, None)
    assert budget.unas_peak_bytes == own.unas_peak_bytes
    assert (budget.flash_bytes, budget.ram_bytes) == (own.flash_bytes, own.arena_bytes)
    tighter = refine_budget(arch, device, Budget(unas_peak_bytes=own.unas_peak_bytes - 1))
    assert tighter.unas_peak_bytes == own.unas_peak_bytes - 1
    assert tighter.violations(own)  # the unrefined network itself is over that limit
