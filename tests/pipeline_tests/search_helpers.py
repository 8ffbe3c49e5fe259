"""Helpers for the `tinynas search` tests: a real CLI process on the built-in digits dataset."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import tinynas_argv

# the smallest settings that still run every stage (relu_count is analytic: ~5 ms a candidate)
TINY = ("--device", "stm32", "--dataset", "digits", "--strategy", "random",
        "--metric", "relu_count", "--shortlist", "2", "--halving-epochs", "0.2",
        "--epochs", "0.5", "--capacity-picks", "0", "--train-subset", "300")  # fmt: skip
# a RAM limit that rejects about a third of the candidates and keeps the shortlist small
MAX_RAM = ("--max-ram", "16KB")
MAX_RAM_BYTES = 16_000


def search_args(out: Path, candidates: int, *extra: str, planned: bool = False) -> list[str]:
    """The argv of a tiny `tinynas search` into `out` (a python -m call, no installed script);
    `planned`: under the default time budget, whose plan measures epoch costs (seconds a run),
    else with no budget, every stage as TINY sets it."""
    budget = () if planned else ("--time-budget", "none")
    return tinynas_argv("search", *TINY, *budget, "--candidates", str(candidates), "--out", out,
                        *extra)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line of a failed command (exit 2, no traceback, no stdout)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]
