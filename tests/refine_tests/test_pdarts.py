"""P-DARTS's staged width search: the deeper stage networks and where their layers come from,
the cap on narrowest options, and a staged refinement that fits its budget and passes check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli

from tinynas.data import load_dataset
from tinynas.devices import get_device
from tinynas.estimators import estimate
from tinynas.refine import (
    RefineConfig,
    WidthRelaxation,
    capped_widths,
    deepen_with_origins,
    refine,
    refine_budget,
    width_choices,
)
from tinynas.refine._pdarts import STAGE_DEPTHS
from tinynas.search import deepen
from tinynas.space import MAX_BLOCKS, Architecture, ConvBlock, ConvLayer, Pooling
from tinynas.testing.metrics import sample_archs

BOARD = get_device("nucleo-l4r5zi")


def _arch() -> Architecture:
    return Architecture(
        (8, 8, 1), 10,
        (ConvBlock((ConvLayer("conv2d", 3, 12, 1, batch_norm=True),)),
         ConvBlock((ConvLayer("dwconv2d", 3, 0, 2), ConvLayer("1x1conv2d", 1, 16))),
         ConvBlock((ConvLayer("conv2d", 3, 8, 2),), parallel=True)),
        Pooling("avg", 2), (24,),
    )


@pytest.mark.parametrize("depth", [1.0, *STAGE_DEPTHS, 2.0, 3.0, 6.0])
def test_stage_networks_are_deepen_s_and_every_layer_names_its_origin(depth: float) -> None:
    for arch in [_arch(), *sample_archs(12, seed=4)]:
        deeper, origins = deepen_with_origins(arch, depth)
        assert deeper == deepen(arch, depth) and len(deeper.blocks) <= MAX_BLOCKS
        names = {f"b{i}l{j}" for i, b in enumerate(deeper.blocks) for j in range(len(b.layers))}
        assert set(origins) == names
        for name, origin in origins.items():
            i, j = (int(v) for v in name[1:].split("l"))
            oi, oj = (int(v) for v in origin[1:].split("l"))
            layer, source = deeper.blocks[i].layers[j], arch.blocks[oi].layers[oj]
            assert (layer.type, layer.filters, layer.kernel_size) == \
                (source.type, source.filters, source.kernel_size)


def test_at_most_the_cap_of_layers_take_their_narrowest_option() -> None:
    arch = _arch()
    relax = WidthRelaxation(arch, width_choices(arch))
    with torch.no_grad():
        for k, a in enumerate(relax.alpha.values()):
            a.zero_()
            a[0] = 5.0 + k  # every layer's narrowest option wins, by margins 5, 6, ...
            a[2] = 1.0
    narrow = relax.discrete_widths()
    capped = capped_widths(relax, cap=1)
    at_narrowest = [c.name for c in relax.choices if capped[c.name] == c.options[0]]
    assert len(at_narrowest) == 1 and at_narrowest == [relax.choices[-1].name]  # widest margin
    for c in relax.choices[:-1]:
        assert capped[c.name] == c.options[2] != narrow[c.name]  # the next most probable
    assert capped_widths(relax, cap=len(relax.choices)) == narrow


def test_option_dropout_drops_only_the_options_narrower_than_the_layer() -> None:
    arch = _arch()
    relax = WidthRelaxation(arch, width_choices(arch))
    relax.option_dropout = 0.9
    choice = relax.choices[0]
    assert choice.original >= 2  # options below the layer's own width to drop
    steps, p = relax._steps[choice.name], relax.probabilities(choice.name)
    torch.manual_seed(0)
    masks = torch.stack([relax.mask(choice.name) for _ in range(200)])
    assert bool((masks <= 1.0 + 1e-6).all()) and bool((masks[:, 0] > 0.99).all())
    assert len({tuple(m.round(decimals=4).tolist()) for m in masks}) > 1  # options dropped
    # the own width and wider ones always stay: their share of the mask never falls below
    # their probability, and with every narrower option dropped the mask is theirs alone
    kept = p[choice.original:] / p[choice.original:].sum()
    alone = kept @ steps[choice.original:]
    assert any(torch.allclose(m, alone, atol=1e-5) for m in masks)
    own = choice.options[choice.original]
    assert bool((masks[:, own - 1] >= float(p[choice.original:].sum()) - 1e-5).all())
    relax.option_dropout = 0.0
    assert torch.allclose(relax.mask(choice.name), p @ steps)


def test_the_cap_counts_the_smallest_multiplier_s_width_whatever_a_layer_kept() -> None:
    arch = _arch()
    relax = WidthRelaxation(arch, width_choices(arch))
    with torch.no_grad():
        for a in relax.alpha.values():
            a.zero_()
            a[1] = 5.0  # every layer's second option wins
            a[2] = 1.0
    # as though the first options were dropped by an earlier stage: the second ones count as
    # the narrowest, so past the cap the layers take their next most probable option
    floors = {c.name: c.options[1] for c in relax.choices}
    capped = capped_widths(relax, cap=1, narrowest=floors)
    assert sum(capped[c.name] == c.options[1] for c in relax.choices) == 1
    assert sum(capped[c.name] == c.options[2] for c in relax.choices) == len(relax.choices) - 1
    # without the floors the first options are the narrowest, and none was chosen
    assert capped_widths(relax, cap=1) == relax.discrete_widths()


@pytest.mark.slow
@pytest.mark.train
def test_a_staged_refinement_fits_its_budget() -> None:
    ds = load_dataset("digits")
    arch = _arch()
    result = refine(arch, ds.x_train[:400], ds.y_train[:400], BOARD,
                    RefineConfig(method="pdarts", epochs=1.5))
    budget = refine_budget(arch, BOARD, None)
    assert not budget.violations(estimate(result.refined, BOARD))
    assert result.search_seconds > 0 and np.isfinite(list(result.widths.values())).all()
    # the last stage searched the deeper network; it is delivered when some widths fit
    deeper, _ = deepen_with_origins(arch, STAGE_DEPTHS[-1])
    assert len(deeper.blocks[0].layers) == 2  # 1 layer x 1.67, rounded up
    delivered = deeper if len(result.refined.blocks[0].layers) == 2 else arch
    assert set(result.widths) == {c.name for c in width_choices(delivered)}
    assert [len(b.layers) for b in result.refined.blocks] == \
        [len(b.layers) for b in delivered.blocks]


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.cli
def test_a_pdarts_refined_run_passes_check(tmp_path: Path) -> None:
    from tinynas.refine._run import refine_run
    from tinynas.store import CandidateStatus, RunStore

    arch = _arch()
    run = tmp_path / "run"
    with RunStore.create(run, {"device": BOARD.name, "dataset": "digits", "seed": 0,
                               "train_subset": 400}) as store:
        record = store.add_candidate(arch, CandidateStatus.TRAINED,
                                     estimate(arch, BOARD).to_dict())
        store.set_chosen(record.id)
    summary = refine_run(run, RefineConfig(method="pdarts", epochs=0.6), retrain_epochs=0.5)
    model = Path(summary["out"]) / "model.tflite"
    result = run_cli("check", model, "--device", BOARD.name)
    assert result.returncode == 0, result.stdout + result.stderr
    with RunStore.open(run, writable=False) as store:
        assert "refine-pdarts" in [t.stage for t in store.trainings()]
