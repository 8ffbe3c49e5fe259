"""results.csv rows round-trip exactly, a cut-short row is dropped, settings are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tinynas.proxies import (
    ENV_VAR,
    ArchResult,
    ProxyValidationError,
    ResultsFile,
    best_validated_metric,
    default_out,
    find_summary,
    proxies_root,
)
from tinynas.proxies._results import CONFIG_NAME, check_config, slug, write_json
from tinynas.testing.metrics import sample_archs

METRICS = ("relu_count", "naswot")


def _result(index: int, repeat: float | None = None) -> ArchResult:
    arch = sample_archs(index + 1, seed=11)[index]
    return ArchResult(
        index, arch, {"params": 1234.0, "macs": 56789.0, "flash_bytes": 4000.0,
                      "arena_bytes": 3000.0, "latency_ms": 0.1 + index / 3},
        accuracy=0.1 + 0.7 / (index + 3), accuracy_repeat=repeat, train_seconds=1 / 7,
        train_device="cpu", scores={"relu_count": 100.0 + index, "naswot": -math.inf},
        ms={"relu_count": 0.01, "naswot": 12.5},
    )  # fmt: skip


def test_rows_round_trip_exactly(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "results.csv", METRICS)
    results.create()
    written = [_result(0, repeat=2 / 3), _result(1)]
    for row in written:
        results.append(row)
    loaded = results.load()
    assert [r.arch_hash for r in loaded] == [r.arch_hash for r in written]
    assert loaded[0].accuracy == written[0].accuracy  # repr round-trips floats bit for bit
    assert loaded[0].accuracy_repeat == 2 / 3 and loaded[1].accuracy_repeat is None
    assert loaded[1].estimates == written[1].estimates
    assert loaded[1].scores["naswot"] == -math.inf
    assert loaded[0].architecture == written[0].architecture


def test_learning_curves_round_trip_and_an_older_file_gains_their_column(
        tmp_path: Path) -> None:
    import csv
    import dataclasses

    from tinynas.proxies._results import _row, columns

    curved = dataclasses.replace(_result(0), accuracy_curve=(0.5, 2 / 3, 0.75))
    older = tmp_path / "older.csv"  # as written before curves were kept: one column less
    with older.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns(METRICS, curve=False))
        writer.writerow(_row(_result(0), METRICS)[:-1])
        writer.writerow(_row(_result(1), METRICS)[:-1])
    results = ResultsFile(older, METRICS)
    kept = results.load()
    assert [r.accuracy_curve for r in kept] == [(), ()]
    assert [r.accuracy for r in kept] == [_result(0).accuracy, _result(1).accuracy]
    assert next(csv.reader(older.open())) == columns(METRICS)
    results.append(dataclasses.replace(curved, index=2))
    again = results.load()
    assert len(again) == 3 and again[2].accuracy_curve == (0.5, 2 / 3, 0.75)


def test_nan_score_round_trips(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "results.csv", METRICS)
    results.create()
    row = _result(0)
    results.append(ArchResult(**{**row.__dict__, "scores": {"relu_count": math.nan,
                                                            "naswot": 1.5}}))
    assert math.isnan(results.load()[0].scores["relu_count"])


def test_a_row_cut_short_is_dropped_and_the_file_repaired(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    results = ResultsFile(path, METRICS)
    results.create()
    for i in range(3):
        results.append(_result(i))
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # killed while writing the third row
    loaded = results.load()
    assert [r.index for r in loaded] == [0, 1]
    assert path.read_text().endswith("\n") and path.read_text().count("\n") == 3
    results.append(_result(2))
    assert [r.index for r in results.load()] == [0, 1, 2]


def test_another_metric_set_is_refused(tmp_path: Path) -> None:
    ResultsFile(tmp_path / "results.csv", METRICS).create()
    with pytest.raises(ProxyValidationError, match="same --metrics"):
        ResultsFile(tmp_path / "results.csv", ("params",)).load()


def test_missing_results_cannot_be_resumed(tmp_path: Path) -> None:
    with pytest.raises(ProxyValidationError, match="nothing to resume"):
        ResultsFile(tmp_path / "results.csv", METRICS).load()


def test_config_is_written_then_checked(tmp_path: Path) -> None:
    out = tmp_path / "v"
    config = {"dataset": "digits", "samples": 10, "epochs": 1.0}
    check_config(out, config, resume=False)
    assert json.loads((out / CONFIG_NAME).read_text()) == config
    with pytest.raises(ProxyValidationError, match="--resume"):
        check_config(out, config, resume=False)
    with pytest.raises(ProxyValidationError, match="epochs=1.0, not 2.0"):
        check_config(out, {**config, "epochs": 2.0}, resume=True)
    check_config(out, {**config, "samples": 20}, resume=True)  # more samples extend the run
    assert json.loads((out / CONFIG_NAME).read_text())["samples"] == 20
    with pytest.raises(ProxyValidationError, match="nothing to resume"):
        check_config(tmp_path / "none", config, resume=True)


def test_kept_results_are_found_by_dataset(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert proxies_root() == Path("runs") / "proxies"
    assert default_out("my data.npz", tmp_path) == tmp_path / "my-data.npz"
    assert slug("fashion-mnist") == "fashion-mnist"
    nested = tmp_path / "fashion-mnist"
    nested.mkdir()
    write_json(nested / "summary.json", {"dataset": "fashion-mnist", "best": {"metric": "zen"}})
    assert find_summary("fashion-mnist", tmp_path) == nested / "summary.json"
    assert best_validated_metric("fashion-mnist", tmp_path) == "zen"
    assert best_validated_metric("digits", tmp_path) is None
    # a validation kept directly in its folder (as the benchmark keeps it)
    assert best_validated_metric("fashion-mnist", nested) == "zen"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert best_validated_metric("fashion-mnist") == "zen"


def test_no_significant_metric_gives_none(tmp_path: Path) -> None:
    (tmp_path / "digits").mkdir()
    write_json(tmp_path / "digits" / "summary.json", {"dataset": "digits",
                                                       "best": {"metric": None}})
    assert best_validated_metric("digits", tmp_path) is None


def test_a_corrupt_summary_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "summary.json").write_text("{not json")
    with pytest.raises(ProxyValidationError, match="cannot read"):
        best_validated_metric("digits", tmp_path)


def test_the_shipped_validation_backs_search_auto(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With no validation of the user's own, `search --metric auto` on Fashion-MNIST uses the
    one published in docs/benchmarks.md by its rule, and the learned ranker can be fitted on its
    rows."""
    from tinynas.pipeline import DEFAULT_METRIC, resolve_metric
    from tinynas.proxies import auto_validated_ranker, validated_architectures
    from tinynas.proxies._results import SHIPPED_VALIDATIONS, read_json

    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # nothing kept there
    shipped = SHIPPED_VALIDATIONS / "fashion-mnist" / "summary.json"
    assert find_summary("fashion-mnist") == shipped
    expected = auto_validated_ranker("fashion-mnist")
    assert expected is not None
    assert resolve_metric("auto", "fashion-mnist") == expected
    summary = read_json(shipped)  # the validation at the final-training budget
    assert summary["settings"]["epochs"] >= 10 and summary["noise_ceiling"]["pairs"] >= 30
    archs, accuracies = validated_architectures("fashion-mnist")
    assert len(archs) == len(accuracies) >= 200
    assert all(0.0 <= a <= 1.0 for a in accuracies)
    assert resolve_metric("auto", "digits") == DEFAULT_METRIC  # nothing validated on digits
