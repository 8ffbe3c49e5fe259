"""Port matching against the catalogue's USB ids, and the flash model slot's plan."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from tinynas.devices import get_device, load_catalogue
from tinynas.profile import FlashError, flash_firmware, match_port, match_ports, slot_plan
from tinynas.profile._protocol import parse_slot_image


@dataclass
class Port:
    """A port record as pyserial's list_ports gives it (data, not a mock of hardware)."""

    device: str
    vid: int | None = None
    pid: int | None = None
    product: str | None = None
    description: str = "n/a"
    serial_number: str | None = None


CATALOGUE = load_catalogue()


@pytest.mark.parametrize("port, board, candidates", [
    (Port("/dev/ttyACM0", 0x2341, 0x805A, "Nano 33 BLE"), "arduino-nano-33-ble-sense", ()),
    (Port("/dev/ttyACM1", 0x2341, 0x805A, "Nano RP2040"), None, ("arduino-nano-33-ble-sense",)),
    (Port("/dev/ttyACM2", 0x0483, 0x374B, "STM32 STLink"), None,
     ("nucleo-f446re", "nucleo-l4r5zi", "stm32f746g-disco")),
    (Port("/dev/ttyACM3", 0x0483, 0x374E, "stlink-v3"), None, ("nucleo-h743zi2", "stm32h7b3i-dk")),
    (Port("/dev/ttyUSB0", 0x1A86, 0x7523, "USB2.0-Serial"), "sparkfun-edge", ()),
    (Port("/dev/ttyACM4", 0x2E8A, 0x000A, "Pico"), "raspberry-pi-pico", ()),
    (Port("/dev/ttyS0"), None, ()),
    (Port("/dev/ttyACM5", 0x1234, 0x5678, "Gadget"), None, ()),
])  # fmt: skip
def test_match_port(port: Port, board: str | None, candidates: tuple[str, ...]) -> None:
    match = match_port(port, CATALOGUE)
    assert (match.board, match.candidates) == (board, candidates)
    assert match.usb_id == (f"{port.vid:04X}:{port.pid:04X}" if port.vid is not None else None)


def test_match_ports_sorts_by_port() -> None:
    ports = [Port("/dev/ttyACM9"), Port("/dev/ttyACM1", 0x2E8A, 0x000A, "Pico")]
    assert [m.port for m in match_ports(ports, CATALOGUE)] == ["/dev/ttyACM1", "/dev/ttyACM9"]


def test_slot_plan_lays_out_length_then_model() -> None:
    device = get_device("nucleo-l4r5zi")
    model = b"\x1c\x00\x00\x00TFL3" + bytes(1000)
    image = slot_plan(device, model)
    assert int.from_bytes(image[:4], "little") == len(model)
    assert parse_slot_image(image, device.flash_budget_bytes - 4) == model
    with pytest.raises(FlashError, match="holds 1,900,540 bytes"):
        slot_plan(device, bytes(device.flash_budget_bytes))
    with pytest.raises(FlashError, match="no model slot"):
        slot_plan(get_device("teensy-41"), model)


def test_flash_api_without_a_probe(tmp_path: pytest.TempPathFactory) -> None:
    firmware = tmp_path / "fw.hex"  # type: ignore[operator]
    firmware.write_text(":00000001FF\n")
    start = time.monotonic()
    with pytest.raises(FlashError, match="no debug probe with id 'ABC123' found"):
        flash_firmware(get_device("nucleo-f446re"), firmware, probe="ABC123")
    assert time.monotonic() - start < 30
