"""The CI recipe of docs/: the GitHub Actions workflow is valid and its settings are ones
``tinynas check`` accepts; the pre-commit hook gates real commits in a real git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DOCS_DIR as DOCS

from tinynas.check import parse_latency_ms
from tinynas.devices import get_device
from tinynas.units import parse_size

HOOK = DOCS / "pre-commit-hook.sh"


def test_workflow_runs_tinynas_check_with_valid_settings() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((DOCS / "github-actions-model-gate.yml").read_text())
    job = workflow["jobs"]["model-gate"]
    check_steps = [s for s in job["steps"] if "tinynas check" in s.get("run", "")]
    assert len(check_steps) == 1
    run = check_steps[0]["run"]
    for option in ("--device", "--max-ram", "--max-flash", "--max-latency", "--junit"):
        assert option in run
    assert "PIPESTATUS[0]" in run  # the job fails exactly when tinynas check does
    for row in job["strategy"]["matrix"]["include"]:
        board = get_device(row["board"])  # raises for an unknown board
        assert parse_size(row["max_ram"]) <= board.sram_bytes
        assert parse_size(row["max_flash"]) <= board.flash_bytes
        assert parse_latency_ms(str(row["max_latency"])) > 0
    published = [s for s in job["steps"] if "junit" in s.get("uses", "")]
    assert published and published[0]["if"] == "always()"


# ---- the git hook in a real repository ----------------------------------------------------------


def _tinynas_command() -> str:
    command = Path(sys.executable).parent / "tinynas"
    if not command.exists():
        pytest.skip(f"no tinynas console script next to {sys.executable}")
    return str(command)


@pytest.fixture()
def repo(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A git repository with the hook installed and the KWS model staged."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "firmware"
    (root / "models").mkdir(parents=True)
    _git(root, "init", "-q")
    shutil.copy(HOOK, root / ".git" / "hooks" / "pre-commit")
    (root / ".git" / "hooks" / "pre-commit").chmod(0o755)
    shutil.copy(fixtures_dir / "kws_ref_model.tflite", root / "models" / "kws.tflite")
    _git(root, "add", "models/kws.tflite")
    return root


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "TINYNAS_MAX", "TINYNAS_DEVICE"))}  # fmt: skip
    env.update(HOME=str(root.parent), GIT_CONFIG_NOSYSTEM="1", TINYNAS=_tinynas_command())
    env.update(extra)
    return env


def _git(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    identity = ["-c", "user.name=CI", "-c", "user.email=ci@example.invalid"]
    return subprocess.run(["git", *identity, *args], cwd=root, capture_output=True, text=True,
                          env=_env(root, **env) if env else None, timeout=120)  # fmt: skip


def _commit(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _git(root, "commit", "-q", "-m", "model", **{"TINYNAS": _tinynas_command(), **env})


@pytest.mark.cli
def test_commit_of_a_model_that_fits_goes_through(repo: Path) -> None:
    _git(repo, "config", "tinynas.device", "nucleo-l4r5zi")
    result = _commit(repo)
    said = result.stdout + result.stderr  # git passes the hook's output on to stderr
    assert result.returncode == 0, said
    assert "kws.tflite" in said and "check passed" in said
    assert _git(repo, "log", "--oneline").stdout.count("\n") == 1


@pytest.mark.cli
def test_commit_over_the_ram_budget_is_refused(repo: Path) -> None:
    _git(repo, "config", "tinynas.device", "nucleo-l4r5zi")
    _git(repo, "config", "tinynas.maxRam", "48KiB")  # the KWS model needs 57,040 B
    result = _commit(repo)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert "OVER BUDGET" in said and "kws.tflite" in said
    assert _git(repo, "log", "--oneline").returncode != 0  # nothing was committed
    assert _commit(repo, TINYNAS_MAX_RAM="64KiB").returncode == 0  # the environment wins


@pytest.mark.cli
def test_the_staged_model_is_checked_not_the_working_copy(repo: Path) -> None:
    (repo / "models" / "kws.tflite").write_bytes(b"not a model any more")
    result = subprocess.run(["bash", str(HOOK)], cwd=repo, capture_output=True, text=True,
                            env=_env(repo, TINYNAS_DEVICE="stm32"), timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.cli
def test_hook_without_a_board_stops_with_a_hint(repo: Path) -> None:
    result = subprocess.run(["bash", str(HOOK)], cwd=repo, capture_output=True, text=True,
                            env=_env(repo), timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "git config tinynas.device" in result.stderr


@pytest.mark.cli
def test_commit_without_models_does_not_run_tinynas(repo: Path) -> None:
    _git(repo, "rm", "-q", "--cached", "models/kws.tflite")
    (repo / "README").write_text("firmware\n")
    _git(repo, "add", "README")
    result = subprocess.run(["bash", str(HOOK)], cwd=repo, capture_output=True, text=True,
                            env=_env(repo, TINYNAS="false", TINYNAS_DEVICE="stm32"),
                            timeout=120)  # fmt: skip
    assert result.returncode == 0 and result.stdout == ""
