"""`tinynas search --device A,B,C`: one supernet, then per board the best sub-network that fits,
fine-tuned from its inherited weights, converted and held to that board's budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from tinynas.check import check_models
from tinynas.devices import get_device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget, estimate
from tinynas.pipeline import BoardsConfig, run_boards
from tinynas.space import Architecture
from tinynas.store import CandidateStatus, RunStore
from tinynas.supernet import SupernetSpace, config_of

pytestmark = [pytest.mark.slow, pytest.mark.train]

BOARDS = ("nucleo-l4r5zi", "nucleo-f446re")


def _config(out: Path, **changes: object) -> BoardsConfig:
    base = BoardsConfig(devices=BOARDS, out=out, dataset="digits", candidates=8,
                        finetune_epochs=2.0, supernet_epochs=6.0, widths=((4, 8), (8, 16)),
                        kernels=(3, 5), max_ram_bytes=4_000)
    return BoardsConfig(**{**base.__dict__, **changes})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("boards") / "run"
    return out, run_boards(_config(out))


def test_every_board_gets_a_subnet_of_the_one_supernet_that_fits_it(run) -> None:  # type: ignore[no-untyped-def]
    out, summary = run
    assert [b.device for b in summary.boards] == list(BOARDS)
    space = SupernetSpace((8, 8, 1), 10, widths=((4, 8), (8, 16)), kernels=(3, 5))
    for board in summary.boards:
        arch = Architecture.from_dict(board.architecture)
        config_of(space, arch)  # one of the supernet's sub-networks
        device = get_device(board.device)
        budget = Budget.for_device(device, None, 4_000, None)
        assert budget.violations(estimate(arch, device)) == []
        assert board.arena_bytes <= 4_000 and board.int8_accuracy is not None
        assert board.int8_accuracy > 0.3 and board.inherited_accuracy > 0.1  # chance: 0.1
        with RunStore.open(out / board.device, writable=False) as store:
            assert store.count() == board.evaluated == 8
            best = max(store.candidates(CandidateStatus.SCORED) + store.candidates(
                CandidateStatus.TRAINED), key=lambda r: r.scores["supernet"])
            assert best.architecture == arch
            assert store.get_meta("status") == "finished"
        # what `tinynas check --device BOARD` gates: the board's own budget with its reserves
        assert check_models([out / board.device / "model.tflite"], [device]).passed
    table = (out / "boards.md").read_text()
    assert all(f"| {b} |" in table for b in BOARDS)
    kept = json.loads((out / "summary.json").read_text())
    assert kept["total_s"] == pytest.approx(summary.total_s)
    assert kept["supernet"]["train_s"] > 0


def test_a_resumed_search_redoes_nothing_and_a_new_one_refuses_the_folder(run) -> None:  # type: ignore[no-untyped-def]
    out, summary = run
    again = run_boards(_config(out), resume=True)
    assert again.boards == summary.boards
    with pytest.raises(TinyNASError, match="not empty"):
        run_boards(_config(out))
    with pytest.raises(TinyNASError, match="other settings"):
        run_boards(_config(out, supernet_epochs=2.0), resume=True)


def test_options_of_one_board_are_refused_in_one_line(tmp_path: Path) -> None:
    result = run_cli("search", "--device", "stm32,f446re", "--dataset", "digits",
                     "--shortlist", "4", "--out", tmp_path / "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--shortlist do not apply to a search for several boards" in result.stderr
    result = run_cli("search", "--device", "stm32,f446re", "--dataset", "digits",
                     "--strategy", "bayes", "--out", tmp_path / "y")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "not --strategy bayes" in result.stderr
    assert not (tmp_path / "x").exists()
