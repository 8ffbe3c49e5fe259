"""Budgets: the board's limits tightened by the user's, and what a candidate breaks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tinynas.devices import Device, get_device
from tinynas.estimators import Budget, Estimate, estimate
from tinynas.space import Architecture, ConvBlock, ConvLayer


@pytest.fixture
def board() -> Device:
    """A catalogue board with round sizes: 80,000 B of flash and 40,000 B of RAM to spend."""
    return replace(get_device("stm32"), flash_bytes=100_000, firmware_reserve_bytes=20_000,
                   sram_bytes=50_000, runtime_reserve_bytes=10_000)  # fmt: skip


def est(flash: int = 0, arena: int = 0, latency: float | None = 0.0, peak: int = 0,
        params: int = 1) -> Estimate:  # fmt: skip
    return Estimate(params=params, macs=1, flash_bytes=flash, arena_bytes=arena,
                    unas_peak_bytes=peak, latency_ms=latency)  # fmt: skip


def test_without_user_limits_the_budget_is_the_board_after_its_reserves(board: Device) -> None:
    assert Budget.for_device(board) == Budget(80_000, 40_000, None, None)


@pytest.mark.parametrize(
    ("max_flash", "max_ram", "flash", "ram"),
    [
        (60_000, None, 60_000, 40_000),  # the user's flash limit is tighter
        (90_000, 30_000, 80_000, 30_000),  # the board's flash, the user's RAM
        (None, 45_000, 80_000, 40_000),  # a looser user limit never loosens the board's
        (80_000, 40_000, 80_000, 40_000),
    ],
)
def test_user_limits_only_tighten(
    board: Device, max_flash: int | None, max_ram: int | None, flash: int, ram: int
) -> None:
    budget = Budget.for_device(board, max_flash, max_ram, max_latency_ms=12.5,
                               max_unas_peak_bytes=9_000, max_unas_size_bytes=64_000)  # fmt: skip
    assert budget == Budget(flash, ram, 12.5, 9_000, 64_000)


def test_a_real_board_budget_is_its_sizes_less_its_reserves() -> None:
    board = get_device("nucleo-l4r5zi")
    budget = Budget.for_device(board)
    assert budget.flash_bytes == board.flash_bytes - board.firmware_reserve_bytes
    assert budget.ram_bytes == board.sram_bytes - board.runtime_reserve_bytes
    assert 0 < budget.ram_bytes < board.sram_bytes


def test_violations_name_each_resource_its_value_and_limit() -> None:
    budget = Budget(1_000, 500, 10.0, 200)
    assert budget.violations(est(2_000, 600, 12.5, 300)) == [
        "flash 2000 B > 1000 B", "ram 600 B > 500 B", "latency 12.50 ms > 10.0 ms",
        "μNAS peak 300 B > 200 B",
    ]  # fmt: skip
    assert budget.violations(est(arena=501)) == ["ram 501 B > 500 B"]
    assert budget.violations(est(latency=10.001)) == ["latency 10.00 ms > 10.0 ms"]


def test_the_unas_size_counts_one_byte_per_parameter() -> None:
    budget = Budget(unas_size_bytes=64_000)
    assert budget.violations(est(flash=71_000, params=64_000)) == []  # the file may be larger
    assert budget.violations(est(params=64_001)) == ["μNAS size 64001 B > 64000 B"]


def test_a_candidate_exactly_at_its_limits_fits() -> None:
    assert Budget(1_000, 500, 10.0, 200).violations(est(1_000, 500, 10.0, 200)) == []


def test_an_unlimited_budget_rejects_nothing() -> None:
    assert Budget().violations(est(10**9, 10**9, 1e6, 10**9)) == []
    assert Budget().fractions(est(10**9, 10**9, 1e6)) == {}


def test_fractions_of_each_limit() -> None:
    fractions = Budget(1_000, 500, 10.0).fractions(est(250, 500, 12.5))
    assert fractions == {"flash": 0.25, "ram": 1.0, "latency": 1.25}
    assert max(fractions, key=fractions.__getitem__) == "latency"  # the binding resource
    assert Budget(1_000, None, 10.0).fractions(est(250, 500, None)) == {"flash": 0.25}


def test_a_real_estimate_against_a_budget_it_breaks_only_in_ram() -> None:
    arch = Architecture((32, 32, 3), 10, (ConvBlock((ConvLayer("conv2d", 3, 64),)),),
                        dense=(16,))  # fmt: skip
    e = estimate(arch, get_device("stm32"))
    budget = Budget(e.flash_bytes, e.arena_bytes - 1)
    assert budget.violations(e) == [f"ram {e.arena_bytes} B > {e.arena_bytes - 1} B"]
    assert budget.fractions(e)["flash"] == 1.0


def test_fractions_include_the_unas_limits_when_set() -> None:
    e = est(250, 500, 12.5, peak=300, params=100)
    fractions = Budget(1_000, unas_peak_bytes=600, unas_size_bytes=400).fractions(e)
    assert fractions == {"flash": 0.25, "unas_peak": 0.5, "unas_size": 0.25}
