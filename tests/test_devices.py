"""The board catalogue: the builtin TOML files, user folders, validation and lookup."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from helpers import DEVICES_DIR

from tinynas.devices import (
    CORES,
    ENV_VAR,
    KERNEL_LIBRARIES,
    MAX_FILE_BYTES,
    Device,
    OpLatencyCoefficients,
    get_device,
    load_catalogue,
    parse_device,
    read_catalogue,
)
from tinynas.errors import BoardNotFoundError, CatalogueError

BASE_TEXT = (DEVICES_DIR / "nucleo-f446re.toml").read_text(encoding="utf-8")
KB = 1024

# name: (core, MHz, SRAM KB, flash KB), from the datasheets cited in each file
EXPECTED_BOARDS = {
    "stm32f746g-disco": ("cortex-m7", 216, 320, 1024),
    "nucleo-f446re": ("cortex-m4f", 180, 128, 512),
    "nucleo-l4r5zi": ("cortex-m4f", 120, 640, 2048),
    "nucleo-h743zi2": ("cortex-m7", 480, 1056, 2048),
    "stm32h7b3i-dk": ("cortex-m7", 280, 1376, 2048),
    "arduino-nano-33-ble-sense": ("cortex-m4f", 64, 256, 1024),
    "raspberry-pi-pico": ("cortex-m0plus", 133, 264, 2048),
    "esp32-s3-devkitc": ("xtensa-lx7", 240, 512, 8192),
    "sparkfun-edge": ("cortex-m4f", 48, 384, 1024),
    "teensy-41": ("cortex-m7", 600, 1024, 8192),
}


def board_text(name: str = "my-board", **changes: str | None) -> str:
    """The nucleo-f446re file renamed to ``name``, with top-level ``key = value`` lines
    replaced (or removed, for None)."""
    changes = {"name": f'"{name}"', "aliases": f'["{name}-alias"]', **changes}
    text = BASE_TEXT
    for key, value in changes.items():
        pattern = re.compile(rf"^{key} = .*$", re.MULTILINE)
        assert pattern.search(text), key
        text = pattern.sub("" if value is None else f"{key} = {value}", text, count=1)
    return text


def write_board(
    folder: Path, name: str = "my-board", text: str | None = None, **changes: str | None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text if text is not None else board_text(name, **changes), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


# ---- the builtin catalogue ---------------------------------------------------------------------


def test_every_builtin_file_loads_under_its_stem() -> None:
    stems = {p.stem for p in DEVICES_DIR.glob("*.toml")}
    catalogue = load_catalogue()
    assert set(catalogue) == stems
    assert set(EXPECTED_BOARDS) <= stems
    assert all(device.name == name for name, device in catalogue.items())
    assert list(catalogue) == sorted(catalogue)


@pytest.mark.parametrize("name", sorted(EXPECTED_BOARDS))
def test_builtin_board_figures(name: str) -> None:
    core, mhz, sram_kb, flash_kb = EXPECTED_BOARDS[name]
    device = load_catalogue()[name]
    assert (device.core, device.clock_hz, device.sram_bytes, device.flash_bytes) == (
        core, mhz * 1_000_000, sram_kb * KB, flash_kb * KB,
    )  # fmt: skip
    assert device.runtime == "tflm"
    assert device.kernel_library == ("esp-nn" if core == "xtensa-lx7" else "cmsis-nn")
    assert 64 * KB <= device.firmware_reserve_bytes < device.flash_bytes
    assert 0 < device.runtime_reserve_bytes < device.sram_bytes
    assert re.search(r"datasheet|data sheet|product specification", device.source, re.IGNORECASE)
    assert device.usb_ids and all(
        re.fullmatch(r"[0-9A-F]{4}:[0-9A-F]{4}", u) for u in device.usb_ids
    )


def test_aliases_are_unique_and_stm32_is_the_mlperf_board() -> None:
    catalogue = load_catalogue()
    keys = list(catalogue) + [a for d in catalogue.values() for a in d.aliases]
    assert len(keys) == len(set(keys))
    assert get_device("stm32").name == "nucleo-l4r5zi"
    expected = {
        "nrf52": "arduino-nano-33-ble-sense", "nano33": "arduino-nano-33-ble-sense",
        "rp2040": "raspberry-pi-pico", "pico": "raspberry-pi-pico", "esp32": "esp32-s3-devkitc",
        "apollo3": "sparkfun-edge", "teensy": "teensy-41", "imxrt": "teensy-41",
        "stm32f7": "stm32f746g-disco", "stm32h7": "nucleo-h743zi2", "stm32f4": "nucleo-f446re",
    }  # fmt: skip
    assert {alias: get_device(alias).name for alias in expected} == expected


def test_st_boards_put_the_model_slot_right_after_the_firmware() -> None:
    for device in load_catalogue().values():
        if device.pyocd_target.startswith("stm32"):
            assert device.model_slot_address == 0x0800_0000 + device.firmware_reserve_bytes
            assert device.usb_ids[0].startswith("0483:")
        if not device.pyocd_target:
            assert device.model_slot_address == 0, device.name


def test_budgets_are_size_minus_reserve() -> None:
    l4 = get_device("nucleo-l4r5zi")
    assert l4.flash_budget_bytes == 2_097_152 - 196_608 == 1_900_544
    assert l4.ram_budget_bytes == 655_360 - 32_768 == 622_592
    h7 = get_device("nucleo-h743zi2")
    assert h7.ram_budget_bytes == 512 * KB  # the contiguous AXI SRAM


def test_latency_model_falls_back_to_default() -> None:
    latency = get_device("nucleo-l4r5zi").latency
    conv = re.search(r"\[latency\.ops\.CONV_2D\]\ncycles_per_mac = (.*)\ncycles_per_output = "
                     r"(.*)\ncycles_per_op = (.*)\ncycles_per_window_element = (.*)\n",
                     (DEVICES_DIR / "nucleo-l4r5zi.toml").read_text(encoding="utf-8"))
    assert conv is not None
    assert latency.coefficients("CONV_2D") == OpLatencyCoefficients(*map(float, conv.groups()))
    assert latency.coefficients("GATHER") == latency.ops["default"]
    assert latency.source.startswith("instruction model of TFLM + CMSIS-NN")


def test_latency_placeholders_rank_cores_and_depthwise() -> None:
    per_mac = {}
    for device in load_catalogue().values():
        conv = device.latency.coefficients("CONV_2D").cycles_per_mac
        assert device.latency.coefficients("DEPTHWISE_CONV_2D").cycles_per_mac > conv
        per_mac[device.core] = conv
    assert per_mac["cortex-m7"] < per_mac["cortex-m4f"] < per_mac["cortex-m0plus"]
    assert set(per_mac) == set(CORES)


def test_device_is_frozen_and_to_dict_is_json() -> None:
    device = get_device("teensy-41")
    with pytest.raises(dataclasses.FrozenInstanceError):
        device.sram_bytes = 1  # type: ignore[misc]
    data = json.loads(json.dumps(device.to_dict()))
    assert data["aliases"] == ["teensy", "imxrt", "teensy41"]
    assert data["ram_budget_bytes"] == 512 * KB
    assert data["flash_budget_bytes"] == 8 * KB * KB - 512 * KB
    assert data["latency"]["ops"]["CONV_2D"]["cycles_per_mac"] == (
        device.latency.coefficients("CONV_2D").cycles_per_mac)
    assert data["latency"]["ops"]["CONV_2D"]["cycles_per_window_element"] > 0
    assert data["kernel_library"] in KERNEL_LIBRARIES


# ---- lookup ------------------------------------------------------------------------------------


def test_lookup_ignores_case_and_whitespace() -> None:
    assert get_device("NUCLEO-L4R5ZI").name == "nucleo-l4r5zi"
    assert get_device(" Pico ").name == "raspberry-pi-pico"


def test_unknown_board_suggests_the_close_name() -> None:
    with pytest.raises(BoardNotFoundError) as info:
        get_device("nucleo-l4")
    assert str(info.value) == (
        "board 'nucleo-l4' not found; did you mean nucleo-l4r5zi? "
        "run 'tinynas devices' for the list"
    )
    assert isinstance(info.value, KeyError)


def test_far_unknown_board_has_no_suggestion() -> None:
    with pytest.raises(BoardNotFoundError, match="^board 'zzzz' not found; run 'tinynas devices'"):
        get_device("zzzz")


# ---- user folders ------------------------------------------------------------------------------


def test_user_dir_adds_a_board(tmp_path: Path) -> None:
    write_board(tmp_path, "my-board", sram_bytes="65_536")
    catalogue = load_catalogue(tmp_path)
    assert catalogue["my-board"].sram_bytes == 65_536
    assert set(EXPECTED_BOARDS) < set(catalogue)
    assert get_device("my-board-alias", tmp_path).name == "my-board"
    assert "my-board" not in load_catalogue()


def test_a_board_whose_file_name_has_capitals_is_found_by_the_name_it_is_listed_under(
    tmp_path: Path,
) -> None:
    write_board(tmp_path, "MyBoard", aliases='["myboard-alias"]')
    assert "MyBoard" in load_catalogue(tmp_path)
    assert get_device("MyBoard", tmp_path).name == "MyBoard"
    assert get_device("myboard", tmp_path).name == "MyBoard"


def test_user_dir_overrides_a_builtin_board(tmp_path: Path) -> None:
    write_board(tmp_path, "nucleo-l4r5zi", aliases='["stm32", "mine"]', sram_bytes="700_000")
    assert get_device("stm32", tmp_path).sram_bytes == 700_000
    assert get_device("mine", tmp_path).name == "nucleo-l4r5zi"
    assert get_device("stm32").sram_bytes == 655_360  # the cached builtin is untouched
    with pytest.raises(BoardNotFoundError):
        get_device("l4r5zi", tmp_path)  # the override's aliases replace the builtin's


def test_env_var_lists_several_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_board(first, "board-a")
    write_board(first, "board-c", clock_hz="1_000_000")
    write_board(second, "board-b")
    write_board(second, "board-c", clock_hz="2_000_000")
    monkeypatch.setenv(ENV_VAR, f"{first}{os.pathsep}{second}")
    catalogue = load_catalogue()
    assert {"board-a", "board-b", "board-c"} < set(catalogue)
    assert catalogue["board-c"].clock_hz == 2_000_000  # the later folder wins
    assert "board-a" not in load_catalogue(second)  # an explicit folder replaces the env var


def test_missing_user_dir(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="devices directory .*nowhere.* does not exist"):
        load_catalogue(tmp_path / "nowhere")


# the first coefficient line of the base file's CONV_2D row, as the file has it
LATENCY_CONV = re.search(r"\[latency\.ops\.CONV_2D\]\ncycles_per_mac = [0-9.]+", BASE_TEXT
                         ).group(0)  # type: ignore[union-attr]
_CONV_PER_MAC = LATENCY_CONV.rsplit(" = ", 1)[1]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"sram_bytes": '"lots"'},
            """field 'sram_bytes' must be a positive integer, got "lots\"""",
        ),
        ({"flash_bytes": "-5"}, "field 'flash_bytes' must be a positive integer, got -5"),
        ({"clock_hz": "true"}, "field 'clock_hz' must be a positive integer, got True"),
        ({"sram_bytes": None}, "field 'sram_bytes' is missing"),
        (
            {"firmware_reserve_bytes": "524_288"},
            "field 'firmware_reserve_bytes' must be less than flash_bytes",
        ),
        (
            {"runtime_reserve_bytes": "131_072"},
            "field 'runtime_reserve_bytes' must be less than sram_bytes",
        ),
        (
            {"aliases": '["stm32"]'},
            "field 'aliases' must be unique across the catalogue, "
            'got "stm32", already used by board nucleo-l4r5zi',
        ),
        ({"aliases": '["nucleo-f446re"]'}, "field 'aliases' must be unique"),
        ({"aliases": '["x", "x"]'}, "field 'aliases' must be a list of distinct lowercase slugs"),
        ({"core": '"cortex-m33"'}, "field 'core' must be one of cortex-m0plus"),
        ({"kernel_library": '"tinyengine"'}, "field 'kernel_library' must be one of"),
        ({"usb_ids": '["0483:374b"]'}, "field 'usb_ids' must be a list of distinct VID:PID"),
        ({"usb_product": "3"}, "field 'usb_product' must be a string, got 3"),
        (
            {"model_slot_address": '"0x0"'},
            "field 'model_slot_address' must be a non-negative integer",
        ),
    ],
)
def test_malformed_field_names_path_and_field(
    tmp_path: Path, changes: dict, expected: str
) -> None:
    path = write_board(tmp_path, **changes)
    with pytest.raises(CatalogueError) as info:
        get_device("my-board", tmp_path)  # the board asked for is the malformed one
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("serial_baud = 115200", "serial_baud = ", "not valid TOML"),
        (
            "serial_baud = 115200",
            "serial_baud = 115200\nlatency_ms = 3",
            "unknown field 'latency_ms'",
        ),
        (
            'name = "my-board"',
            'name = "other-board"',
            "field 'name' must be the file stem 'my-board', got \"other-board\"",
        ),
        (
            "[latency.ops.default]",
            "[latency.ops.DEFAULT]",
            "field 'latency.ops.default' is missing",
        ),
        (
            LATENCY_CONV,
            LATENCY_CONV.replace(_CONV_PER_MAC, "-2.0"),
            "field 'latency.ops.CONV_2D.cycles_per_mac' "
            "must be a finite non-negative number, got -2.0",
        ),
        (
            LATENCY_CONV,
            LATENCY_CONV.replace(_CONV_PER_MAC, '"fast"'),
            "field 'latency.ops.CONV_2D.cycles_per_mac' must be a finite",
        ),
        (
            LATENCY_CONV,
            LATENCY_CONV + "\ncycles_per_byte = 1.0",
            "unknown field 'latency.ops.CONV_2D.cycles_per_byte'",
        ),
        (
            LATENCY_CONV,
            LATENCY_CONV.replace("cycles_per_mac", "cycles_per_flop"),
            "unknown field 'latency.ops.CONV_2D.cycles_per_flop'",
        ),
        ("[latency]\nsource", "[latency]\nsourcee", "unknown field 'latency.sourcee'"),
        ("[latency.ops.default]", "[latencyy.ops.default]", "unknown field 'latencyy'"),
    ],
)
def test_malformed_text_names_path_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = board_text()
    assert old in text
    path = write_board(tmp_path, text=text.replace(old, new, 1))
    with pytest.raises(CatalogueError) as info:
        get_device("my-board", tmp_path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_missing_latency_table(tmp_path: Path) -> None:
    text = board_text()
    path = write_board(tmp_path, text=text[: text.index("[latency]")])
    with pytest.raises(CatalogueError, match=re.escape(f"{path}: field 'latency' is missing")):
        get_device("my-board", tmp_path)


def test_model_slot_address_is_optional(tmp_path: Path) -> None:
    write_board(tmp_path, model_slot_address=None)
    assert load_catalogue(tmp_path)["my-board"].model_slot_address == 0


def test_device_type_is_exported() -> None:
    assert isinstance(get_device("edge"), Device)


# ---- unreadable user files break only their own board -------------------------------------------


def _one_warning(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_a_malformed_user_file_breaks_only_its_own_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_board(tmp_path, "my-board", sram_bytes='"lots"')
    write_board(tmp_path, "good-board")
    assert get_device("pico", tmp_path).name == "raspberry-pi-pico"  # a builtin board
    _one_warning(capsys, str(bad), "field 'sram_bytes' must be a positive integer")
    assert get_device("good-board", tmp_path).name == "good-board"
    assert capsys.readouterr().err == ""  # the file is named once per process
    for asked in ("my-board", "MY-BOARD", "my-board-alias"):  # its stem, its name, its alias
        with pytest.raises(CatalogueError, match=re.escape(f"{bad}: field 'sram_bytes'")):
            get_device(asked, tmp_path)
    catalogue = read_catalogue(tmp_path)
    assert "good-board" in catalogue.boards and "my-board" not in catalogue.boards
    assert [u.path for u in catalogue.unreadable] == [str(bad)]


def test_a_malformed_override_stands_for_the_builtin_board_it_replaces(tmp_path: Path) -> None:
    bad = write_board(tmp_path, "nucleo-l4r5zi", clock_hz="-1")
    for asked in ("nucleo-l4r5zi", "stm32"):  # a broken override is never silently skipped
        with pytest.raises(CatalogueError, match=re.escape(f"{bad}: field 'clock_hz'")):
            get_device(asked, tmp_path)


def test_an_unknown_board_names_the_unreadable_files(tmp_path: Path) -> None:
    bad = write_board(tmp_path, "my-board", text="name = \n")
    with pytest.raises(BoardNotFoundError) as info:
        get_device("zzzz", tmp_path)
    assert f"1 board file(s) could not be read, the first: {bad}" in str(info.value)


def test_an_alias_clash_breaks_only_the_clashing_user_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clash = write_board(tmp_path, "my-board", aliases='["stm32"]')
    assert get_device("stm32", tmp_path).name == "nucleo-l4r5zi"
    _one_warning(capsys, str(clash), "already used by board nucleo-l4r5zi")
    with pytest.raises(CatalogueError, match="must be unique across the catalogue"):
        get_device("my-board", tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'name = "my-board"\n\xff\xfe = 1\n', "not UTF-8 text (byte 0xff at offset 18)"),
        (b"latency = " + b"[" * 100_000, "nest deeper than the TOML reader allows"),
        (b"a = {" * 5_000, "nest deeper than the TOML reader allows"),
        (b"name = \n", "not valid TOML: Invalid value (at line 1, column 8)"),
        (b"x" * (MAX_FILE_BYTES + 1), "too large for a board file"),
    ],
    ids=["not-utf8", "nested-arrays", "nested-tables", "syntax", "huge"],
)
def test_unreadable_board_files_are_one_error_naming_the_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "my-board.toml"
    path.write_bytes(content)
    with pytest.raises(CatalogueError) as info:
        get_device("my-board", tmp_path)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("sram_bytes = 131_072", f"sram_bytes = {2**63}",
         "field 'sram_bytes' must be a positive integer"),
        ('aliases = ["my-board-alias"]', 'aliases = ["ok\\n"]',  # a TOML escape: a newline
         "field 'aliases' must be a list of distinct lowercase slugs"),
    ],
    ids=["beyond-64-bit", "alias-with-newline"],
)
def test_values_toml_does_not_allow(tmp_path: Path, old: str, new: str, expected: str) -> None:
    text = board_text()
    assert old in text
    write_board(tmp_path, text=text.replace(old, new, 1))
    with pytest.raises(CatalogueError, match=re.escape(expected)):
        get_device("my-board", tmp_path)


def test_a_latency_coefficient_beyond_64_bits_is_refused_not_an_overflow(tmp_path: Path) -> None:
    text = board_text().replace(LATENCY_CONV, LATENCY_CONV.replace(_CONV_PER_MAC, "9" * 30), 1)
    write_board(tmp_path, text=text)
    with pytest.raises(CatalogueError, match="cycles_per_mac' must be a finite non-negative"):
        get_device("my-board", tmp_path)


def test_the_window_coefficient_is_optional_and_checked(tmp_path: Path) -> None:
    window = re.compile(r"^cycles_per_window_element = .*\n", re.MULTILINE)
    assert window.search(BASE_TEXT)
    write_board(tmp_path, text=window.sub("", board_text()))
    latency = get_device("my-board", tmp_path).latency
    assert all(c.cycles_per_window_element == 0.0 for c in latency.ops.values())
    write_board(tmp_path, text=window.sub("cycles_per_window_element = -1.0\n", board_text(),
                                          count=1))  # fmt: skip
    with pytest.raises(CatalogueError, match="cycles_per_window_element' must be a finite"):
        get_device("my-board", tmp_path)


def test_parse_device_takes_bytes() -> None:
    device = parse_device("x.toml", "nucleo-f446re", BASE_TEXT.encode("utf-8"))
    assert device == get_device("nucleo-f446re")
