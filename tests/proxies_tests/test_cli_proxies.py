"""`tinynas proxies list` and `tinynas proxies validate` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinynas.cli import main
from tinynas.metrics import METRICS


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_as_json_names_every_metric(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "proxies", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["name"] for r in rows} == set(METRICS)
    naswot = next(r for r in rows if r["name"] == "naswot")
    assert naswot["needs_data"] is True and naswot["cost"] == "forward"


def test_list_as_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "proxies", "list")
    assert code == 0 and "relu_count" in out and "needs data" in out


@pytest.mark.slow
def test_validate_json_then_refuses_to_overwrite(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    args = ["proxies", "validate", "--dataset", "digits", "--samples", "4", "--epochs", "1",
            "--metrics", "params,relu_count", "--repeats", "2", "--train-images", "300",
            "--max-ram", "4KiB", "--out", str(tmp_path / "v")]
    code, out, _ = _run(capsys, *args, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["architectures"] == 4
    assert summary["budget"]["ram_bytes"] == 4096 and summary["recipe"]["train_images"] == 300
    # the ensemble of the two default members validated; too few architectures for 5 folds
    assert set(summary["metrics"]) == {"params", "relu_count", "ensemble"}
    code, _, err = _run(capsys, *args)
    assert code == 2 and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "--resume" in err


def test_unknown_metric_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "proxies", "validate", "--dataset", "digits", "--metrics",
                        "nonesuch", "--out", str(tmp_path / "v"))
    assert code == 2 and "unknown metric 'nonesuch'" in err
    assert not (tmp_path / "v").exists()
