"""Fixtures shared by every test folder; the plain helpers behind them are in ``helpers.py``.

This conftest also puts ``tests/`` on ``sys.path`` (it is not a package), which is what makes
``from helpers import ...`` work from any test folder.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import HAVE_MLPERF_TINY, MLPERF_TINY_DIR, REPO_ROOT, mlperf_tiny_dir
from helpers import run_cli as _run_cli


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the ``run_cli`` fixture starts real processes: it is marked ``cli``."""
    for item in items:
        if "run_cli" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cli)


def pytest_report_header() -> str:
    found = "found" if HAVE_MLPERF_TINY else "missing: the tests that need them are skipped"
    return f"MLPerf Tiny models: {MLPERF_TINY_DIR} ({found})"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mlperf_tiny() -> Path:
    """The MLPerf Tiny models' folder; the test is skipped when it is missing."""
    return mlperf_tiny_dir()


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """:func:`helpers.run_cli`: ``tinynas ARGS`` in a real process."""
    return _run_cli
