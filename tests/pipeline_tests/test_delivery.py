"""A delivered model always fits, and a search never starts among a user's files: resume checks,
the final budget gate, and the run folder guard."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from tinynas.data import SplitData, load_dataset
from tinynas.devices import get_device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget, estimate
from tinynas.pipeline import RESUME_FIXED, SearchConfig, finish, run_search
from tinynas.pipeline._finish import _deliver_within
from tinynas.space import Architecture, Pooling
from tinynas.store import CandidateStatus, RunLayout, RunStore, open_run
from tinynas.testing.archs import conv, serial
from tinynas.train import TrainConfig

BOARD = get_device("stm32")
ARCH = Architecture((8, 8, 1), 10, (serial(conv(4, 3)),), Pooling("avg", 2), ())


def _config(out: Path, **changes: object) -> SearchConfig:
    base = SearchConfig(device=BOARD.name, out=out, dataset="digits", strategy="random",
                        metric="relu_count", candidates=10, max_ram_bytes=16_000)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [
    {"max_ram_bytes": 20_000}, {"max_flash_bytes": 40_000}, {"max_latency_ms": 5.0},
    {"max_unas_peak_bytes": 12_600}, {"metric": "snip"}, {"epochs": 30.0},
    {"halving_epochs": 2.0}, {"shortlist": 4}, {"train_subset": 500},
])
def test_a_resume_that_would_change_what_the_run_delivers_is_refused(
    tmp_path: Path, change: dict[str, object],
) -> None:
    first = _config(tmp_path / "run")
    open_run(first.out, first.to_dict(), False, RESUME_FIXED).close()
    changed = replace(first, **change)  # type: ignore[arg-type]
    (key, value), = change.items()
    with pytest.raises(TinyNASError, match=f"searched with {key}=.*not {value!r}"):
        open_run(changed.out, changed.to_dict(), True, RESUME_FIXED)
    more = replace(first, candidates=500, time_budget_s=60.0)  # exploring further is allowed
    open_run(more.out, more.to_dict(), True, RESUME_FIXED).close()


def test_a_resume_whose_auto_metric_resolves_otherwise_is_refused_and_not_failed(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "run")
    with open_run(config.out, config.to_dict(), False, RESUME_FIXED) as store:
        store.set_meta("metric", "snip")  # what `auto` resolved to when the run started
        store.set_meta("status", "running")
    with pytest.raises(TinyNASError, match="scored with metric snip, not relu_count; resume "
                                           "with --metric snip"):
        run_search(config, resume=True)
    with RunStore.open(config.out, writable=False) as store:
        assert store.get_meta("status") == "running" and store.count() == 0


def test_a_winner_over_the_budget_is_neither_trained_nor_delivered(tmp_path: Path) -> None:
    ds = load_dataset("digits")
    data = SplitData(ds.x_train[:50], ds.y_train[:50], ds.x_train[:0], ds.y_train[:0], 10)
    est = estimate(ARCH, BOARD)
    tight = Budget(ram_bytes=est.arena_bytes - 1)
    with RunStore.create(tmp_path / "run", {}) as store:
        winner = store.add_candidate(ARCH, CandidateStatus.SCORED, est.to_dict(), {"m": 1.0})
        with pytest.raises(TinyNASError, match=rf"candidate {winner.id} is over the budget "
                                               r"\(ram .* B > .* B\); nothing was delivered"):
            finish(store, winner, data, ds.x_test[:20], ds.y_test[:20], TrainConfig(epochs=0.1),
                   "digits", 0, RunLayout(tmp_path / "run"), tight, BOARD)
        assert store.trainings() == [] and store.chosen() is None
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock", "run.db"]


def test_a_converted_model_measured_over_the_budget_is_removed(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("model.tflite", "model_data.cc", "model_data.h",
                                    "model_card.json")]
    for f in files:
        f.write_bytes(b"x")
    result = SimpleNamespace(tflite_path=files[0], card_path=files[3], c_array=SimpleNamespace(
        source_path=files[1], header_path=files[2]))
    _deliver_within(Budget(flash_bytes=1000, ram_bytes=4000), 1000, 4000, result)  # at the limit
    assert all(f.exists() for f in files)
    with pytest.raises(TinyNASError, match=r"flash 1001 B > 1000 B, measured\); nothing was"):
        _deliver_within(Budget(flash_bytes=1000), 1001, 4000, result)
    assert not any(f.exists() for f in files)


def test_a_converted_model_over_the_ram_budget_names_the_arena_it_was_held_to(
    tmp_path: Path,
) -> None:
    files = [tmp_path / n for n in ("model.tflite", "model_data.cc", "model_data.h",
                                    "model_card.json")]
    for f in files:
        f.write_bytes(b"x")
    result = SimpleNamespace(tflite_path=files[0], card_path=files[3], c_array=SimpleNamespace(
        source_path=files[1], header_path=files[2]))
    with pytest.raises(TinyNASError, match=r"\(ram 4001 B > 4000 B, Cortex-M CMSIS-NN arena "
                                           r"\(estimated\)\); nothing was delivered"):
        _deliver_within(Budget(ram_bytes=4000), 1000, 4001, result,
                        "Cortex-M CMSIS-NN arena (estimated)")
    assert not any(f.exists() for f in files)


def test_the_summary_states_both_arenas_and_the_one_the_verdict_held() -> None:
    from tinynas.estimators import ARENA_CORTEX_M
    from tinynas.pipeline import SearchSummary

    fields = {f.name: 0 for f in dataclasses.fields(SearchSummary)
              if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    fields.update(device="nucleo-l4r5zi", arena_bytes=24_272, arena_estimated_bytes=22_820)
    summary = SearchSummary(**fields, arena_cortex_m_bytes=22_820,  # type: ignore[arg-type]
                            arena_estimated_source=ARENA_CORTEX_M,
                            ram_basis="Cortex-M CMSIS-NN arena (estimated)")
    assert summary.ram_text() == (
        "TFLM arena 24,272 B measured on the host (x86 build), 22,820 B estimated for a "
        "Cortex-M with CMSIS-NN; estimated from the architecture 22,820 B (cortex-m cmsis-nn); "
        "fit verdict on nucleo-l4r5zi: Cortex-M CMSIS-NN arena (estimated)")
    assert summary.to_dict()["arena_cortex_m_bytes"] == 22_820
    assert "x86" in summary.provenance["arena_bytes"]
    assert "Cortex-M" in summary.provenance["arena_cortex_m_bytes"]


def test_a_new_run_never_starts_among_a_users_files(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "report.md").write_text("my notes")
    (folder / "model.tflite").write_bytes(b"my model")
    config = _config(folder)
    with pytest.raises(TinyNASError, match=r"holds files that are not a tinynas run "
                                           r"\(model.tflite, report.md\); .* another --out"):
        open_run(config.out, config.to_dict(), False, RESUME_FIXED)
    assert sorted(p.name for p in folder.iterdir()) == ["model.tflite", "report.md"]
    assert (folder / "report.md").read_text() == "my notes"
    empty = tmp_path / "empty"
    empty.mkdir()
    open_run(empty, config.to_dict(), False, RESUME_FIXED).close()  # an empty folder is fine


def test_a_dataset_too_small_to_search_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    import numpy as np

    x, y = np.zeros((12, 8, 8, 1), np.float32), np.arange(12) % 2
    np.savez(tmp_path / "small.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    config = _config(tmp_path / "run", dataset=str(tmp_path / "small.npz"))
    with pytest.raises(TinyNASError, match="has 12 training samples; a search needs at least 20"):
        run_search(config)
    assert not (tmp_path / "run").exists()


@pytest.mark.train
def test_a_dataset_smaller_than_the_metric_batch_is_scored_on_what_there_is(
    tmp_path: Path,
) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 8, 8, 1), np.float32), np.arange(40) % 2
    np.savez(tmp_path / "forty.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    config = _config(tmp_path / "run", dataset=str(tmp_path / "forty.npz"), candidates=3,
                     shortlist=1, halving_epochs=0.2, epochs=0.2)
    summary = run_search(config)
    assert summary.evaluated == 3 and summary.trained == 1


def test_a_resumed_run_that_finds_nothing_keeps_its_candidates_and_is_marked_failed(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "run", max_ram_bytes=500, candidates=4)
    with open_run(config.out, config.to_dict(), False, RESUME_FIXED) as store:
        store.add_candidate(ARCH, CandidateStatus.REJECTED, estimate(ARCH, BOARD).to_dict(),
                            reject_reason="RAM > 500 B")  # what a killed first try stored
    with pytest.raises(TinyNASError, match="fits the budget") as raised:
        run_search(config, resume=True)
    assert "nothing was kept" not in str(raised.value)
    with RunStore.open(config.out, writable=False) as store:
        assert store.get_meta("status") == "failed"
        assert store.count() == 4 and store.find(ARCH.content_hash) is not None


def test_nothing_fitting_names_the_limits_that_rejected_the_candidates() -> None:
    from tinynas.pipeline._summary import nothing_fits

    est = estimate(ARCH, BOARD)
    budget = Budget(flash_bytes=10**6, ram_bytes=10**6, latency_ms=est.latency_ms / 2)
    with RunStore.memory() as store:
        store.add_candidate(ARCH, CandidateStatus.REJECTED, est.to_dict(),
                            reject_reason="; ".join(budget.violations(est)))
        line = nothing_fits(store, budget)
    assert f"the smallest needs {est.flash_bytes:,} B flash and {est.arena_bytes:,} B RAM, " \
           f"{est.latency_ms:.2f} ms" in line
    assert "relax --max-latency or choose a larger board" in line
