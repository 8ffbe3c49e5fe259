"""A validation's trainings through the executor seam (``tinynas.executor``): worker processes
give this process's rows, a failed training leaves its architecture for a resume, and where
trainings run is refused before any file is written when it cannot be honoured."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import tinynas.executor
from tinynas.cli import main
from tinynas.data import SplitData
from tinynas.errors import TinyNASError
from tinynas.executor import Executor, InlineExecutor, TrainJob, TrainOutcome
from tinynas.proxies import ProxyValidationError, ValidationConfig, validate_proxies
from tinynas.proxies._results import ResultsFile
from tinynas.space import SpaceConfig

METRICS = ("params", "relu_count")
CONFIG = ValidationConfig(
    "digits", samples=4, epochs=1.0, metrics=METRICS, train_images=300, repeats=2,
    space=SpaceConfig(max_blocks=3, max_filters=16, max_units=32),
)  # fmt: skip


def _rows(out: Path) -> list[tuple[int, str, float, float | None, dict[str, float]]]:
    """(index, architecture hash, accuracy, repeat accuracy, scores) of every kept row, by
    index (with several workers the file holds them in the order they finished)."""
    rows = ResultsFile(out / "results.csv", METRICS).load()
    return sorted((r.index, r.arch_hash, r.accuracy, r.accuracy_repeat, r.scores) for r in rows)


@pytest.mark.slow
@pytest.mark.train
def test_worker_processes_give_the_rows_of_this_process(tmp_path: Path) -> None:
    # every job trains on config.cpu_threads (1) torch threads, inline or in a worker
    inline = validate_proxies(CONFIG, tmp_path / "inline")
    pooled = validate_proxies(CONFIG, tmp_path / "pooled", workers=2)
    rows = _rows(tmp_path / "inline")
    assert [r[0] for r in rows] == [0, 1, 2, 3]
    assert [r[3] is not None for r in rows] == [True, True, False, False]
    assert _rows(tmp_path / "pooled") == rows
    # where the trainings ran is not a setting: the kept configs are the same
    assert json.loads((tmp_path / "pooled" / "config.json").read_text()) == \
        json.loads((tmp_path / "inline" / "config.json").read_text())
    for name in METRICS:
        assert pooled["metrics"][name]["tau"] == inline["metrics"][name]["tau"]


class _FailingOnce(Executor):
    """Runs jobs inline, but the first run of `fail` comes back failed."""

    backend = "local"
    workers = 1

    def __init__(self, fail: tuple[int, str]) -> None:
        self.fail: tuple[int, str] | None = fail
        self.jobs: list[tuple[int, str]] = []
        self.closed = False

    def describe(self) -> str:
        return "failing once"

    def run(self, jobs: Sequence[TrainJob], data: SplitData) -> Iterator[TrainOutcome]:
        for job in jobs:
            self.jobs.append(job.key)
            if job.key == self.fail:
                self.fail = None
                yield TrainOutcome.failure(job.key, "here:1", "RuntimeError: out of memory")
            else:
                yield from InlineExecutor().run([job], data)

    def close(self) -> None:
        self.closed = True


@pytest.mark.slow
@pytest.mark.train
def test_a_failed_training_leaves_its_architecture_to_the_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    executor = _FailingOnce((1, "repeat"))
    monkeypatch.setattr(tinynas.executor, "make_executor", lambda *args: executor)
    out = tmp_path / "v"
    with pytest.raises(ProxyValidationError,
                       match=r"1 of 6 trainings failed .*1 architecture.*out of memory"):
        validate_proxies(CONFIG, out)
    assert executor.closed
    assert [r[0] for r in _rows(out)] == [0, 2, 3]  # the others are kept
    assert not (out / "summary.json").exists()
    calls: list[tuple[int, int]] = []
    executor.jobs.clear()
    summary = validate_proxies(CONFIG, out, resume=True,
                               progress=lambda done, total: calls.append((done, total)))
    assert executor.jobs == [(1, "run"), (1, "repeat")]  # only the failed architecture
    assert calls == [(3, 4), (4, 4)]
    assert summary["architectures"] == 4 and summary["noise_ceiling"]["pairs"] == 2


def test_gpus_without_ray_are_refused_before_any_file(tmp_path: Path) -> None:
    config = ValidationConfig("digits", samples=2, repeats=0, metrics=("params",))
    with pytest.raises(TinyNASError, match="--ray"):
        validate_proxies(config, tmp_path / "v", gpus_per_job=0.5)
    assert not (tmp_path / "v").exists()


def _main(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_the_command_takes_the_executor_options(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    assert _main("proxies", "validate", "--help") == 0
    help_text = capsys.readouterr().out
    assert all(o in help_text for o in ("--workers", "--ray", "--gpus-per-job"))
    code = _main("proxies", "validate", "--dataset", "digits", "--samples", "2", "--repeats",
                 "0", "--metrics", "params", "--gpus-per-job", "0.5", "--out",
                 str(tmp_path / "v"))  # fmt: skip
    assert code == 2 and "--ray" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()
