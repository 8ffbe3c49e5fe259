"""A real validation on scikit-learn's digits: 12 small architectures, 1 epoch each."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from tinynas.proxies import (
    ProxyValidationError,
    ValidationConfig,
    best_validated_metric,
    markdown_table,
    scatter_info,
    validate_proxies,
)
from tinynas.proxies._results import ResultsFile
from tinynas.space import SpaceConfig

pytestmark = [pytest.mark.slow, pytest.mark.train]  # trains networks

METRICS = ("relu_count", "params", "macs", "naswot")
CONFIG = ValidationConfig(
    "digits", samples=12, epochs=1.0, metrics=METRICS, train_images=None, repeats=4,
    space=SpaceConfig(max_blocks=3, max_filters=16, max_units=32),
)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("proxies") / "digits"
    return out, validate_proxies(CONFIG, out)


def _csv(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _floats(rows: list[dict[str, str]], column: str) -> np.ndarray:
    return np.array([float(r[column]) for r in rows])


def test_files_are_written_and_agree(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    rows = _csv(out)
    assert len(rows) == summary["architectures"] == 12
    assert [int(r["index"]) for r in rows] == list(range(12))
    assert len({r["arch_hash"] for r in rows}) == 12
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["trainings"] == 12 + 4
    assert summary["recipe"]["train_images"] == 1294 and summary["recipe"]["epochs"] == 1.0


def test_every_tau_is_scipys_on_the_csv_columns(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    rows = _csv(out)
    accuracy = _floats(rows, "accuracy")
    assert set(summary["metrics"]) == {*METRICS, "learned", "ensemble"}
    for name in METRICS:
        entry = summary["metrics"][name]
        scores = _floats(rows, f"score:{name}")
        assert entry["tau"] == pytest.approx(kendalltau(scores, accuracy).statistic)
        assert entry["rho"] == pytest.approx(spearmanr(scores, accuracy).statistic)
        assert -1 <= entry["tau_ci"][0] <= entry["tau_ci"][1] <= 1
        assert entry["median_ms"] == pytest.approx(np.median(_floats(rows, f"ms:{name}")))
    learned = summary["metrics"]["learned"]
    assert learned["tau"] == pytest.approx(kendalltau(learned["predictions"], accuracy).statistic)
    assert learned["folds"] == 5 and learned["train_size"] == 9


def test_analytic_scores_are_the_estimators(run: tuple[Path, dict[str, Any]]) -> None:
    rows = _csv(run[0])
    np.testing.assert_array_equal(_floats(rows, "score:params"), _floats(rows, "params"))
    np.testing.assert_array_equal(_floats(rows, "score:macs"), _floats(rows, "macs"))


def test_noise_ceiling_comes_from_the_duplicated_trainings(
    run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = run
    rows = _csv(out)
    twice = [r for r in rows if r["accuracy_repeat"]]
    assert [int(r["index"]) for r in twice] == [0, 1, 2, 3]
    expected = kendalltau(_floats(twice, "accuracy"), _floats(twice, "accuracy_repeat"))
    ceiling = summary["noise_ceiling"]
    assert ceiling["pairs"] == 4
    if math.isnan(expected.statistic):
        assert ceiling["tau"] is None
    else:
        assert ceiling["tau"] == pytest.approx(expected.statistic)


def test_best_validated_metric_reads_the_kept_summary(
    run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = run
    assert best_validated_metric("digits", out.parent) == summary["best"]["metric"]
    best = summary["best"]["metric"]
    if best is not None:
        assert summary["metrics"][best]["beats_baselines"]


def test_table_and_plot_cover_every_ranker(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    table = markdown_table(summary)
    for name in summary["metrics"]:
        assert f"| {name} |" in table
    panels = scatter_info(ResultsFile(out / "results.csv", METRICS).load(), summary)
    assert [p.title.split(":")[0] for p in panels][-1] == "noise ceiling"
    assert len(panels) == len(summary["metrics"]) + 1
    assert all(len(p.x) == len(p.y) for p in panels)


def test_resume_trains_only_the_missing_rows(run: tuple[Path, dict[str, Any]],
                                             tmp_path: Path) -> None:
    out, summary = run
    copy = tmp_path / "digits"
    shutil.copytree(out, copy)
    lines = (copy / "results.csv").read_text().splitlines(keepends=True)
    kept = lines[:-3]  # header + 9 rows
    (copy / "results.csv").write_text("".join(kept) + lines[-3][:25])  # and half a row
    calls: list[tuple[int, int]] = []
    resumed = validate_proxies(CONFIG, copy, resume=True,
                               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(9, 12), (10, 12), (11, 12), (12, 12)]
    before, after = _csv(out), _csv(copy)
    # kept rows are untouched: their measured training times would differ if retrained
    assert [r["train_seconds"] for r in after[:9]] == [r["train_seconds"] for r in before[:9]]
    # the retrained rows reproduce the first run's (seeded, deterministic on the CPU)
    assert [r["accuracy"] for r in after] == [r["accuracy"] for r in before]
    assert resumed["metrics"]["naswot"]["tau"] == summary["metrics"]["naswot"]["tau"]


def test_resume_with_other_settings_is_refused(run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = run
    with pytest.raises(ProxyValidationError, match="epochs"):
        validate_proxies(ValidationConfig(**{**CONFIG.__dict__, "epochs": 2.0}), out,
                         resume=True)
    with pytest.raises(ProxyValidationError, match="already holds"):
        validate_proxies(CONFIG, out)


def test_bad_settings_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ProxyValidationError, match="--repeats"):
        validate_proxies(ValidationConfig("digits", samples=3, repeats=5), tmp_path / "a")
    with pytest.raises(ProxyValidationError, match="learned"):
        validate_proxies(ValidationConfig("digits", metrics=("learned",)), tmp_path / "b")
    with pytest.raises(ProxyValidationError, match="fit"):
        validate_proxies(ValidationConfig("digits", samples=3, repeats=0, max_ram_bytes=16,
                                          metrics=("params",)), tmp_path / "c")
    assert not any((tmp_path / name).exists() for name in "abc")


def test_a_file_of_architectures_is_validated_in_its_order(
        run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from tinynas.space import Architecture

    out, _ = run
    archs = [Architecture.from_json(r["architecture"]) for r in _csv(out)][:5][::-1]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(a.to_json(indent=None) + "\n" for a in archs))
    config = ValidationConfig(**{**CONFIG.__dict__, "architectures": str(path), "repeats": 2})
    summary = validate_proxies(config, tmp_path / "mine")
    rows = _csv(tmp_path / "mine")
    assert [r["arch_hash"] for r in sorted(rows, key=lambda r: int(r["index"]))] == [
        a.content_hash for a in archs]
    assert sum(bool(r["accuracy_repeat"]) for r in rows) == 2
    assert summary["settings"]["samples"] == 5 and len(
        summary["settings"]["architectures_sha256"]) == 64
    # another file in the same folder is another validation
    path.write_text("".join(a.to_json(indent=None) + "\n" for a in archs[:4]))
    with pytest.raises(ProxyValidationError, match="architectures_sha256|samples"):
        validate_proxies(config, tmp_path / "mine", resume=True)


def test_a_bad_file_of_architectures_names_the_line(run: tuple[Path, dict[str, Any]],
                                                    tmp_path: Path) -> None:
    from tinynas.errors import SearchSpaceError
    from tinynas.space import Architecture

    out, _ = run
    arch = Architecture.from_json(_csv(out)[0]["architecture"])
    path = tmp_path / "bad.jsonl"
    path.write_text(arch.to_json(indent=None) + "\n\n" + arch.to_json(indent=None) + "\n")
    config = ValidationConfig(**{**CONFIG.__dict__, "architectures": str(path), "repeats": 0})
    with pytest.raises(SearchSpaceError, match=r"bad.jsonl line 3: the architecture of line 1"):
        validate_proxies(config, tmp_path / "a")
    wrong = Architecture((8, 8, 3), arch.num_classes, arch.blocks, arch.pooling, arch.dense)
    path.write_text(arch.to_json(indent=None) + "\n" + wrong.to_json(indent=None) + "\n")
    with pytest.raises(SearchSpaceError, match=r"line 2: field 'input_shape' is \[8, 8, 3\]"):
        validate_proxies(config, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_kept_validation_grows_by_added_architectures(
        run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    import random

    from tinynas.errors import SearchSpaceError
    from tinynas.space import Architecture, sample

    out, summary = run
    copy = tmp_path / "digits"
    shutil.copytree(out, copy)
    before = _csv(out)
    kept = [Architecture.from_json(r["architecture"]) for r in before]
    rng = random.Random(7)
    added: list[Architecture] = []
    while len(added) < 2:  # two the validation does not hold, of the same small space
        arch = sample(kept[0].input_shape, kept[0].num_classes, rng, CONFIG.space)
        if arch.content_hash not in {a.content_hash for a in kept + added}:
            added.append(arch)
    path = tmp_path / "more.jsonl"
    path.write_text("".join(a.to_json(indent=None) + "\n" for a in added))
    config = ValidationConfig(**{**CONFIG.__dict__, "added_architectures": str(path)})
    calls: list[tuple[int, int]] = []
    grown = validate_proxies(config, copy, resume=True,
                             progress=lambda done, total: calls.append((done, total)))
    after = sorted(_csv(copy), key=lambda r: int(r["index"]))
    assert calls == [(12, 14), (13, 14), (14, 14)]
    # the kept rows are not trained again (their measured seconds are the first run's)
    assert [r["train_seconds"] for r in after[:12]] == [r["train_seconds"] for r in before]
    assert [r["arch_hash"] for r in after[12:]] == [a.content_hash for a in added]
    assert grown["architectures"] == 14 and grown["trainings"] == summary["trainings"] + 2
    assert grown["settings"]["samples"] == 12 and grown["settings"]["added_architectures"] == 2
    assert json.loads((copy / "config.json").read_text())["added_architectures"] == 2
    accuracy = _floats(after, "accuracy")
    assert grown["metrics"]["naswot"]["tau"] == pytest.approx(
        kendalltau(_floats(after, "score:naswot"), accuracy).statistic)
    # an added architecture the validation already holds is named by its line
    path.write_text(added[0].to_json(indent=None) + "\n" + kept[3].to_json(indent=None) + "\n")
    with pytest.raises(SearchSpaceError, match=r"more.jsonl line 2: already architecture 3 "):
        validate_proxies(config, copy, resume=True)
