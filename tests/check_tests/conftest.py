"""Shared pieces of the ``tinynas check`` tests: the MLPerf Tiny fixtures and the real CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tinynas.testing.cli import assert_one_line_error as _one_line_error

# the shared/ folder next to the repository root
REPO = Path(__file__).resolve().parents[2]
FIXTURES = (REPO / ".." / "shared" / "fixtures" / "mlperf-tiny").resolve()

CliRun = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The MLPerf Tiny models; the test is skipped when the shared folder is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"MLPerf Tiny fixtures not found at {FIXTURES} (the shared/ folder next to "
                    "the repository)")
    return FIXTURES


@pytest.fixture(scope="session")
def run_cli() -> CliRun:
    """Runs ``python -m tinynas ARGS...`` in a real subprocess."""

    def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tinynas", *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd)

    return run




@pytest.fixture(scope="session")
def one_line_error() -> Callable[..., str]:
    """Asserts exit 2, no traceback, and one ``error: ...`` line on stderr holding the words."""
    return _one_line_error
