"""Shared pieces of the ``tinynas check`` tests; ``run_cli`` and ``mlperf_tiny`` come from the
root ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tinynas.testing.cli import assert_one_line_error as _one_line_error


@pytest.fixture(scope="session")
def fixtures_dir(mlperf_tiny: Path) -> Path:
    """The MLPerf Tiny models (the name these tests use); skipped when the folder is missing."""
    return mlperf_tiny


@pytest.fixture(scope="session")
def one_line_error() -> Callable[..., str]:
    """Asserts exit 2, no traceback, and one ``error: ...`` line on stderr holding the words."""
    return _one_line_error
