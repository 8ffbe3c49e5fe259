"""No TensorFlow, absl, oneDNN or converter log line reaches the terminal during a real
``tinynas search`` and ``tinynas export``; ``tinynas --debug`` shows them again.

The lines are written by C++ code straight to file descriptor 2 (see :mod:`tinynas.native`), so
only a real process shows whether they are silenced.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import tinynas_argv

from tinynas.data import load_dataset

# the smallest search that still runs every stage (as in tests/pipeline_tests/search_helpers.py)
TINY_SEARCH = ("--device", "stm32", "--dataset", "digits", "--strategy", "random",
               "--metric", "relu_count", "--shortlist", "2", "--halving-epochs", "0.2",
               "--epochs", "0.5", "--train-subset", "300", "--candidates", "8")  # fmt: skip

# what TensorFlow, absl, oneDNN, XLA, the TFLite converter and LiteRT print when left alone
MARKERS = (
    "absl::InitializeLog",  # WARNING: All log messages before absl::InitializeLog() is called...
    "oneDNN custom operations",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
    "XNNPACK delegate",
    "Estimated count of arithmetic ops",
    "fully_quantize",
    "SavedModel",
    "MLIR",
    "tensorflow/",  # a Python warning's "path/to/tensorflow/...: UserWarning"
    "Warning:",
    "WARNING:absl",
    "XLA",
)
# glog / absl line prefix: I0000 00:00:1796470176.068936    4831 port.cc:153] ...
GLOG_PREFIX = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]")

pytestmark = [pytest.mark.slow, pytest.mark.cli]


def _tinynas(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """`tinynas ARGS` in a real process, without the user's own TensorFlow log settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.pop("TINYNAS_DEBUG", None)
    return subprocess.Popen(tinynas_argv(*args), cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    return stdout, stderr


def _foreign_lines(stderr: str) -> list[str]:
    """stderr lines tinynas did not write: a successful search or export writes none."""
    return [line for line in stderr.splitlines() if line.strip()]


def _markers(stderr: str) -> list[str]:
    found = [m for m in MARKERS if m in stderr]
    return found + [line for line in stderr.splitlines() if GLOG_PREFIX.match(line)]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quiet")
    data = load_dataset("digits")
    np.savez(folder / "digits.npz", x=data.x_test[:64], y=data.y_test[:64],
             x_calibration=data.x_train[:64])  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def searched(root: Path) -> str:
    """The stderr of a tiny search into root/run."""
    _, stderr = _finish(_tinynas("search", *TINY_SEARCH, "--out", str(root / "run"), cwd=root))
    return stderr


def test_search_and_export_print_no_third_party_log_lines(searched: str, root: Path) -> None:
    assert _markers(searched) == [], searched
    assert _foreign_lines(searched) == [], searched
    export = ("export", str(root / "run"), "--data", str(root / "digits.npz"))
    quiet = _tinynas(*export, "--out", str(root / "fw"), cwd=root)
    debug = _tinynas("--debug", *export, "--out", str(root / "fw_debug"), cwd=root)
    stdout, stderr = _finish(quiet)
    assert "exported" in stdout
    assert _markers(stderr) == [], stderr
    assert _foreign_lines(stderr) == [], stderr
    # --debug lets the libraries speak: TensorFlow's start-up and the converter's lines show
    _, said = _finish(debug)
    assert "absl::InitializeLog" in said and "Estimated count of arithmetic ops" in said, said
    assert (root / "fw" / "model.tflite").read_bytes() == (
        root / "fw_debug" / "model.tflite").read_bytes()  # fmt: skip
