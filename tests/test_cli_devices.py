"""``tinynas devices``: run as a real process, checking exit codes, stderr and the JSON output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import DEVICES_DIR, run_cli

from tinynas.devices import ENV_VAR
from tinynas.testing.cli import assert_one_line_error as one_line_error_of

# run_cli leaves $TINYNAS_DEVICES unset unless a test gives it in env=
pytestmark = pytest.mark.cli


def user_board(folder: Path, name: str = "my-board", sram: str = "65_536") -> Path:
    """A copy of nucleo-f446re renamed ``name``, with its own alias and SRAM size."""
    text = (DEVICES_DIR / "nucleo-f446re.toml").read_text(encoding="utf-8")
    text = text.replace('name = "nucleo-f446re"', f'name = "{name}"')
    text = text.replace('aliases = ["stm32f4", "f446re"]', f'aliases = ["{name}-alias"]')
    text = text.replace("sram_bytes = 131_072", f"sram_bytes = {sram}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    return one_line_error_of(result, *fragments, empty_stdout=True)


def test_list_json(tmp_path: Path) -> None:
    result = run_cli("devices", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    boards = {b["name"]: b for b in json.loads(result.stdout)}
    assert set(boards) == {p.stem for p in DEVICES_DIR.glob("*.toml")}
    l4 = boards["nucleo-l4r5zi"]
    assert l4["ram_budget_bytes"] == 655_360 - 32_768
    assert l4["flash_budget_bytes"] == 2_097_152 - 196_608
    assert l4["aliases"][0] == "stm32"
    assert boards["raspberry-pi-pico"]["core"] == "cortex-m0plus"


def test_list_table(tmp_path: Path) -> None:
    result = run_cli("devices", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "nucleo-l4r5zi" in line)
    # name, aliases, core, MHz, SRAM, flash, RAM budget, flash budget (KB), kernels
    for cell in ("stm32, stm32l4, l4r5zi", "cortex-m4f", "120", "640", "2,048", "608", "1,856"):
        assert cell in row
    assert row.split()[-1] == "cmsis-nn"
    assert "esp-nn" in result.stdout


def test_show_by_alias_json(tmp_path: Path) -> None:
    result = run_cli("devices", "show", "STM32", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    board = json.loads(result.stdout)
    assert board["name"] == "nucleo-l4r5zi"
    assert board["pyocd_target"] == "stm32l4r5zitx"
    assert board["model_slot_address"] == 0x0803_0000
    from tinynas.devices import get_device

    depthwise = get_device("nucleo-l4r5zi").latency.coefficients("DEPTHWISE_CONV_2D")
    assert board["latency"]["ops"]["DEPTHWISE_CONV_2D"]["cycles_per_mac"] == (
        depthwise.cycles_per_mac)


def test_show_rich(tmp_path: Path) -> None:
    result = run_cli("devices", "show", "teensy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("PJRC Teensy 4.1", "MIMXRT1062DVJ6A", "600,000,000 Hz (600 MHz)", "16C0:0483"):
        assert text in out
    assert "ram_budget_bytes" in out and "524,288 B (512 KB)" in out
    assert "DEPTHWISE_CONV_2D" in out and "scaled estimate" in out


def test_user_dir_option(tmp_path: Path) -> None:
    folder = user_board(tmp_path / "boards")
    listed = run_cli("devices", "--devices-dir", str(folder), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [b["name"] for b in json.loads(listed.stdout)]
    assert "my-board" in names and "nucleo-l4r5zi" in names
    for args in (
        ("devices", "show", "my-board-alias", "--devices-dir", str(folder), "--json"),
        ("devices", "--devices-dir", str(folder), "show", "my-board", "--json"),
    ):
        shown = run_cli(*args, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["sram_bytes"] == 65_536


def test_user_dir_from_env(tmp_path: Path) -> None:
    folder = user_board(tmp_path / "boards", name="nucleo-l4r5zi", sram="700_000")
    result = run_cli(
        "devices", "show", "nucleo-l4r5zi", "--json", cwd=tmp_path, env={ENV_VAR: str(folder)}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sram_bytes"] == 700_000


@pytest.mark.parametrize(
    "args", [("devices", "show", "nucleo-l4"), ("devices", "show", "nucleo-l4", "--json")]
)
def test_unknown_board_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    line = assert_one_line_error(run_cli(*args, cwd=tmp_path), "'nucleo-l4' not found")
    assert line == (
        "error: board 'nucleo-l4' not found; did you mean nucleo-l4r5zi? "
        "run 'tinynas devices' for the list"
    )


def test_a_malformed_user_file_breaks_only_its_own_board(tmp_path: Path) -> None:
    folder = user_board(tmp_path / "bad")
    path = folder / "my-board.toml"
    path.write_text(path.read_text().replace("sram_bytes = 65_536", 'sram_bytes = "lots"'))
    field = """field 'sram_bytes' must be a positive integer, got "lots\""""
    # the board asked for is the malformed one: its one-line error
    assert_one_line_error(run_cli("devices", "show", "my-board", "--devices-dir", folder,
                                  cwd=tmp_path), str(path), field)  # fmt: skip
    # any other board: found, with one warning line naming the file
    other = run_cli("devices", "show", "pico", "--json", "--devices-dir", folder, cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["name"] == "raspberry-pi-pico"
    warning = other.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: ") and str(path) in warning[0]
    # the listing: the good boards on stdout, the bad file named on stderr, exit status 1
    listing = run_cli("devices", "--devices-dir", folder, cwd=tmp_path)
    assert listing.returncode == 1 and "Traceback" not in listing.stderr
    assert "nucleo-l4r5zi" in listing.stdout and "my-board" not in listing.stdout
    lines = listing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and field in lines[0]


def test_malformed_toml_syntax_via_env_is_named_beside_the_listing(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.toml").write_text("name = \n")
    result = run_cli("devices", "--json", cwd=tmp_path, env={ENV_VAR: str(folder)})
    assert result.returncode == 1
    assert {b["name"] for b in json.loads(result.stdout)} == {
        p.stem for p in DEVICES_DIR.glob("*.toml")}  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(folder / "broken.toml") in lines[0]
    assert "not valid TOML" in lines[0] and "line 1" in lines[0]
