"""The summary's choice of the best metric, on rows whose correlations are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinynas.proxies import ArchResult, summarise
from tinynas.testing.metrics import sample_archs

NAMES = ("relu_count", "params", "macs", "synflow", "naswot")
N = 40


def _context() -> dict:
    settings = {"dataset": "digits", "device": "nucleo-l4r5zi", "seed": 0, "epochs": 1.0,
                "warmup_epochs": 0.25, "cpu_threads": 1}
    return {"settings": settings, "num_classes": 10, "images": {"train": 100, "validation": 20},
            "budget": {"flash_bytes": 1000, "ram_bytes": 1000, "latency_ms": None}}


def _rows(perfect: bool) -> list[ArchResult]:
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(0.5, 0.9, N)
    noise = {name: rng.normal(size=N) for name in NAMES}
    if perfect:
        noise["relu_count"] = accuracy * 100  # ranks exactly as accuracy
    return [
        ArchResult(i, arch, {}, float(accuracy[i]),
                   float(accuracy[i] + rng.normal(0, 0.01)) if i < 10 else None, 1.0, "cpu",
                   {n: float(noise[n][i]) for n in NAMES}, {n: 1.0 for n in NAMES})
        for i, arch in enumerate(sample_archs(N, seed=9))
    ]  # fmt: skip


@pytest.fixture(scope="module")
def perfect() -> dict:
    return summarise(_rows(perfect=True), NAMES, _context())


def test_a_perfect_metric_beats_every_baseline_and_is_chosen(perfect: dict) -> None:
    relu = perfect["metrics"]["relu_count"]
    assert relu["tau"] == pytest.approx(1.0) and relu["tau_ci"] == [1.0, 1.0]
    assert relu["beats_baselines"] and set(relu["vs_baselines"]) == set(NAMES[1:])
    assert all(v["beats"] and v["delta_ci"][0] > 0 for v in relu["vs_baselines"].values())
    assert perfect["best"]["metric"] == "relu_count"
    assert not perfect["metrics"]["params"]["beats_baselines"]


def test_tau_is_reported_as_a_fraction_of_the_ceiling(perfect: dict) -> None:
    ceiling = perfect["noise_ceiling"]["tau"]
    assert perfect["noise_ceiling"]["pairs"] == 10 and 0 < ceiling <= 1
    assert perfect["metrics"]["relu_count"]["tau_over_ceiling"] == pytest.approx(1.0 / ceiling)


def test_learned_ranker_is_cross_validated_with_a_learning_curve(perfect: dict) -> None:
    learned = perfect["metrics"]["learned"]
    assert learned["folds"] == 5 and learned["train_size"] == 32
    assert len(learned["predictions"]) == N
    assert set(learned["learning_curve"]) == {"25"}  # 50 and 100 leave < 10 to correlate on
    assert learned["selectable"] is False
    assert learned["needed"] is None  # nothing beats a perfect metric


def test_the_learned_ranker_takes_the_network_metrics_that_rank_as_features() -> None:
    rows = _rows(perfect=False)
    accuracy = np.array([r.accuracy for r in rows])
    ranked = [ArchResult(**{**r.__dict__, "scores": {**r.scores, "naswot": 10 * a}})
              for r, a in zip(rows, accuracy)]  # naswot now ranks as the accuracy
    summary = summarise(ranked, NAMES, _context())
    learned = summary["metrics"]["learned"]
    # naswot builds a network and ranks; synflow is noise; relu_count is analytic
    assert learned["proxies"] == ["naswot"]
    assert learned["tau"] > 0.6  # out of fold, with naswot among its features
    assert summarise(_rows(perfect=True), NAMES, _context())["metrics"]["learned"][
        "proxies"] == []  # relu_count is already an analytic feature


def test_noise_alone_chooses_nothing() -> None:
    summary = summarise(_rows(perfect=False), NAMES, _context())
    assert summary["best"]["metric"] is None
    assert summary["accuracy"]["source"] == "measured" and summary["accuracy"]["collapsed"] == 0


def test_top_picks_are_the_best_scored_tenth() -> None:
    from tinynas.proxies._summary import top_picks

    accuracy = np.linspace(0.1, 0.9, 50)  # the best architecture is the last
    picks = top_picks(np.arange(50.0)[::-1], accuracy)  # scores rank worst first
    assert picks["k"] == 5
    assert picks["mean_accuracy"] == pytest.approx(accuracy[:5].mean())
    assert picks["regret"] == pytest.approx(0.9 - accuracy[4])
    scores = np.arange(50.0)
    scores[-1] = np.nan  # a failed score ranks last, never first
    picks = top_picks(scores, accuracy)
    assert picks["best_accuracy"] == pytest.approx(accuracy[-2])


def test_a_metric_whose_top_picks_are_poor_is_not_chosen() -> None:
    """relu_count orders the population exactly, except that its highest scores go to the
    worst architectures; params's top picks are the best ones."""
    rows = _rows(perfect=True)
    accuracy = np.array([r.accuracy for r in rows])
    order = np.argsort(accuracy)
    worst = set(order[:4].tolist())
    best = order[-4:]
    for i, r in enumerate(rows):
        r.scores["relu_count"] = 1e6 if i in worst else accuracy[i] * 100
        r.scores["params"] = 1e6 if i in best else r.scores["params"]
    summary = summarise(rows, NAMES, _context())
    relu = summary["metrics"]["relu_count"]
    assert relu["beats_baselines"]  # it still ranks the population well
    assert relu["top_k"]["mean_accuracy"] < summary["metrics"]["params"]["top_k"]["mean_accuracy"]
    assert summary["best"]["metric"] is None


def test_auto_is_a_ranker_that_beats_macs_and_params(perfect: dict) -> None:
    assert perfect["auto"]["metric"] == "relu_count"
    assert perfect["auto"]["rule"].startswith("relu_count beats macs and params")


def test_auto_falls_back_to_the_better_of_macs_and_params() -> None:
    """No ranker beats both: auto is whichever of macs and params has the higher tau, even
    when a metric beats one of them (here synflow is made a copy of a noisy macs)."""
    rows = _rows(perfect=False)
    accuracy = np.array([r.accuracy for r in rows])
    rng = np.random.default_rng(5)
    for i, r in enumerate(rows):
        r.scores["macs"] = accuracy[i] + rng.normal(0, 0.15)  # some signal
        r.scores["synflow"] = r.scores["macs"]
    summary = summarise(rows, NAMES, _context())
    taus = {b: summary["metrics"][b]["tau"] for b in ("macs", "params")}
    assert taus["macs"] > taus["params"]
    assert summary["auto"]["metric"] == "macs"
    assert summary["auto"]["rule"].startswith("no ranker beat macs and params")


def test_auto_resolves_from_the_kept_validation(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tinynas.pipeline import resolve_metric

    folder = tmp_path / "digits"
    folder.mkdir()
    summary = {"schema": "tinynas.proxies/1", "dataset": "digits",
               "auto": {"metric": "macs", "rule": "..."},
               "best": {"metric": None}, "best_overall": {"metric": "learned"}}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    monkeypatch.setenv("TINYNAS_PROXIES_DIR", str(tmp_path))
    assert resolve_metric("auto", "digits") == "macs"  # the rule's choice, not best_overall
    del summary["auto"]  # a validation kept before the rule: its best ranker, as before
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert resolve_metric("auto", "digits") == "learned"
    assert resolve_metric("naswot", "digits") == "naswot"
