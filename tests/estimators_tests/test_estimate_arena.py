"""`estimate(arch, device)`'s arena is the one the board allocates: the Cortex-M CMSIS-NN figure
on a board that runs TFLM with CMSIS-NN, the x86 reference build's elsewhere and without a
board; budgets and the penalised relu_count hold that figure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tinynas.devices import get_device
from tinynas.estimators import (
    ARENA_CORTEX_M,
    ARENA_X86,
    Budget,
    arena,
    cortex_m_arena,
    cortex_m_board,
    estimate,
)
from tinynas.metrics import ReluCountPenalizedMetric
from tinynas.space import Architecture, ConvBlock, Pooling
from tinynas.testing.archs import conv, dw, pw

CMSIS_NN = get_device("nucleo-l4r5zi")
ESP_NN = get_device("esp32-s3-devkitc")
# a 5x5 convolution of 16 channels: CMSIS-NN's im2col scratch makes the Cortex-M arena larger
# (10,836 B against 9,958 B on x86)
WIDE = Architecture((16, 16, 16), 10, (ConvBlock((conv(16, k=5),)),), Pooling("avg", 2), ())
# 3x3 kernels only: the 32-bit structures make the Cortex-M arena smaller (4,020 B against
# 5,014 B on x86)
SMALL = Architecture((28, 28, 1), 10, (ConvBlock((conv(4, s=2), dw(), pw(8, batch_norm=True))),),
                     Pooling("avg", 2), (20,))


def test_the_two_figures_differ_both_ways() -> None:
    assert cortex_m_arena(WIDE).total_bytes > arena(WIDE).total_bytes
    assert cortex_m_arena(SMALL).total_bytes < arena(SMALL).total_bytes


@pytest.mark.parametrize("arch", [WIDE, SMALL], ids=["wide", "small"])
def test_a_cmsis_nn_board_gets_the_cortex_m_arena(arch: Architecture) -> None:
    est = estimate(arch, CMSIS_NN)
    assert est.arena_bytes == cortex_m_arena(arch).total_bytes
    assert est.arena_bytes != arena(arch).total_bytes
    assert est.arena_x86_bytes == arena(arch).total_bytes
    assert est.arena_source == ARENA_CORTEX_M
    d = est.to_dict()
    assert (d["arena_bytes"], d["arena_x86_bytes"]) == (est.arena_bytes, est.arena_x86_bytes)
    assert d["arena_source"] == d["provenance"]["arena_bytes"] == ARENA_CORTEX_M
    assert d["provenance"]["arena_x86_bytes"] == ARENA_X86


@pytest.mark.parametrize("device", [
    None,
    ESP_NN,  # TFLM with ESP-NN kernels
    replace(CMSIS_NN, kernel_library="reference"),
    replace(CMSIS_NN, runtime="other-runtime"),
], ids=["no-device", "esp-nn", "reference-kernels", "other-runtime"])  # fmt: skip
def test_any_other_board_keeps_the_x86_arena(device: object) -> None:
    est = estimate(WIDE, device)  # type: ignore[arg-type]
    assert est.arena_bytes == est.arena_x86_bytes == arena(WIDE).total_bytes
    assert est.arena_source == ARENA_X86 == est.to_dict()["provenance"]["arena_bytes"]
    assert not cortex_m_board(device)  # type: ignore[arg-type]


def test_every_cmsis_nn_board_with_dsp_is_a_cortex_m_board() -> None:
    from tinynas.devices import load_catalogue

    for name, device in load_catalogue().items():
        expected = device.runtime == "tflm" and device.kernel_library == "cmsis-nn" and (
            device.core in ("cortex-m4f", "cortex-m7"))
        assert cortex_m_board(device) is expected, name
    assert cortex_m_board(CMSIS_NN) and not cortex_m_board(ESP_NN)
    # CMSIS-NN without the DSP extension takes other kernels with other scratch rules
    assert not cortex_m_board(replace(CMSIS_NN, core="cortex-m0plus"))


def test_a_budget_holds_the_boards_figure() -> None:
    x86 = arena(WIDE).total_bytes
    budget = Budget(ram_bytes=x86)  # enough for the x86 arena, too little for the Cortex-M one
    assert budget.violations(estimate(WIDE)) == []
    assert budget.violations(estimate(WIDE, ESP_NN)) == []
    cortex_m = cortex_m_arena(WIDE).total_bytes
    assert budget.violations(estimate(WIDE, CMSIS_NN)) == [f"ram {cortex_m} B > {x86} B"]
    assert budget.fractions(estimate(WIDE, CMSIS_NN))["ram"] == cortex_m / x86


def test_the_penalised_relu_count_holds_the_boards_figure() -> None:
    budget = Budget(ram_bytes=20_000)  # no latency limit: no latency is needed
    fractions = ReluCountPenalizedMetric(CMSIS_NN, budget=budget).fractions(WIDE)
    assert fractions["ram"] == cortex_m_arena(WIDE).total_bytes / 20_000
    fractions = ReluCountPenalizedMetric(ESP_NN, budget=budget).fractions(WIDE)
    assert fractions["ram"] == arena(WIDE).total_bytes / 20_000
