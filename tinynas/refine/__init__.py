"""Differentiable width refinement under a board budget: RARTS, first-order DARTS, and
P-DARTS's staged search."""

from __future__ import annotations

from tinynas.refine._pdarts import capped_widths, deepen_with_origins, pdarts_search
from tinynas.refine._refine import (
    METHODS,
    RefineConfig,
    RefineResult,
    fit_to_budget,
    refine,
    refine_budget,
    search_widths,
)
from tinynas.refine._relaxed import WidthChoice, WidthRelaxation, width_choices, with_widths
from tinynas.refine._run import refine_run
from tinynas.refine._updates import Rates, darts1_step, rarts_step

__all__ = [
    "METHODS",
    "Rates",
    "RefineConfig",
    "RefineResult",
    "WidthChoice",
    "WidthRelaxation",
    "capped_widths",
    "darts1_step",
    "deepen_with_origins",
    "fit_to_budget",
    "pdarts_search",
    "rarts_step",
    "refine",
    "refine_budget",
    "refine_run",
    "search_widths",
    "width_choices",
    "with_widths",
]
