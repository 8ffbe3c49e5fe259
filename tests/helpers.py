"""Plumbing shared by the test modules: the repository's paths, the MLPerf Tiny models, the CLI.

Import it as ``from helpers import ...``: ``tests/`` is on ``sys.path`` because the root
``tests/conftest.py`` lives there (pytest's default ``prepend`` import mode), just as each test
folder is for its own ``*_helpers.py``. Fixture forms of the same helpers are in that conftest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEVICES_DIR = REPO_ROOT / "devices"
DOCS_DIR = REPO_ROOT / "docs"

# The MLPerf Tiny v1.0 reference int8 models (github.com/mlcommons/tiny,
# benchmark/training/<task>/trained_models/) live outside the repository, in the shared/ folder
# next to the checkout, with a README.md of their published figures.
MLPERF_TINY_DIR = (REPO_ROOT.parent / "shared" / "fixtures" / "mlperf-tiny").resolve()
MLPERF_TINY_MODELS = (
    "kws_ref_model.tflite",
    "vww_96_int8.tflite",
    "pretrainedResnet_quant.tflite",
    "ad01_int8.tflite",
)
HAVE_MLPERF_TINY = MLPERF_TINY_DIR.is_dir()
MLPERF_TINY_MISSING = (
    f"MLPerf Tiny models not found: no folder {MLPERF_TINY_DIR}. Put the MLPerf Tiny v1.0 "
    f"reference int8 models there ({', '.join(MLPERF_TINY_MODELS)}), from "
    "github.com/mlcommons/tiny, benchmark/training/<task>/trained_models/ (see README.md, "
    "Quickstart)"
)

# a decorator for tests (or `pytestmark`) that read the models
needs_mlperf_tiny = pytest.mark.skipif(not HAVE_MLPERF_TINY, reason=MLPERF_TINY_MISSING)


def mlperf_tiny_dir() -> Path:
    """The MLPerf Tiny models' folder; skips the calling test when it is missing."""
    if not HAVE_MLPERF_TINY:
        pytest.skip(MLPERF_TINY_MISSING)
    return MLPERF_TINY_DIR


def tinynas_argv(*args: str | Path) -> list[str]:
    """The argv of ``tinynas ARGS`` run by this interpreter (``python -m tinynas``)."""
    return [sys.executable, "-m", "tinynas", *map(str, args)]


def cli_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``TINYNAS_*`` variable (a developer's own
    $TINYNAS_DEVICES or $TINYNAS_EMULATOR_FAULTS must not leak into a test), plus ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("TINYNAS_")}
    full.update(env or {})
    return full


def run_cli(
    *args: str | Path,
    cwd: Path | None = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``tinynas ARGS`` in a real process: text output captured, never raises on a non-zero exit.

    ``cwd`` defaults to the repository root; ``env`` adds variables to :func:`cli_env`.
    """
    return subprocess.run(tinynas_argv(*args), cwd=cwd, env=cli_env(env), capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
