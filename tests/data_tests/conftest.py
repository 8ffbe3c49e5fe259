"""Fixtures of the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinynas.data import _fashion


@pytest.fixture
def no_system_fashion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hide the Debian copy and $TINYNAS_DATA so a test sees only the folders it makes."""
    missing = tmp_path / "no-debian-copy"
    monkeypatch.setattr(_fashion, "DEBIAN_DIR", missing)
    monkeypatch.delenv("TINYNAS_DATA", raising=False)
    return missing
