"""Putting firmware or a model on a board through pyocd's Python API.

``flash_firmware`` programs a ``.bin`` (at the start of flash), ``.hex`` or ``.elf``.
``flash_model`` writes a ``.tflite`` into the board's model slot (``model_slot_address`` of its
TOML) as PROTOCOL.md section 7 lays it out: a 4-byte little-endian length, then the model. The
profiler firmware loads it with ``model slot%``. pyocd is imported only here, and its
exceptions are translated here.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinynas.devices import Device
from tinynas.errors import ProfilerError
from tinynas.profile._protocol import slot_image

FIRMWARE_FORMATS = {".bin": "bin", ".hex": "hex", ".elf": "elf", ".axf": "elf"}


class FlashError(ProfilerError):
    """A board that could not be flashed: no probe, no target, a bad file, a failed write."""


@dataclass(frozen=True)
class FlashReport:
    """What was written where."""

    device: str
    path: str
    kind: str  # "firmware" or "model"
    size_bytes: int  # bytes of the file written (a model: the slot image, header included)
    address: int | None  # None when the file carries its own addresses (.hex, .elf)
    probe: str


def slot_plan(device: Device, model: bytes) -> bytes:
    """The slot image for ``model`` on ``device``, after checking the board has room.

    Raises:
        FlashError: The board has no slot, or the model is larger than it.
    """
    if not device.model_slot_address:
        raise FlashError(f"board '{device.name}' has no model slot (model_slot_address is 0 "
                         "in its TOML); upload the model over serial with "
                         "'tinynas profile'")  # fmt: skip
    slot_bytes = device.flash_budget_bytes - 4
    if not 1 <= len(model) <= slot_bytes:
        raise FlashError(f"the model is {len(model):,} bytes; the model slot of "
                         f"'{device.name}' holds {slot_bytes:,} bytes")  # fmt: skip
    return slot_image(model)


def flash_model(device: Device, path: str | Path, probe: str | None = None) -> FlashReport:
    """Write the ``.tflite`` at ``path`` into ``device``'s model slot.

    Raises:
        ModelFileError: Not an int8 TFLite model.
        FlashError: No slot, too large, no probe, or the write failed.
    """
    from tinynas.tflite_file import read_tflite

    read_tflite(path)
    image = slot_plan(device, Path(path).read_bytes())
    address = device.model_slot_address
    used = _program(device, probe, io.BytesIO(image), "bin", base_address=address)
    return FlashReport(device.name, str(path), "model", len(image), address, used)


def flash_firmware(device: Device, path: str | Path, probe: str | None = None) -> FlashReport:
    """Program a firmware file (``.bin`` at the start of flash, ``.hex``, ``.elf``).

    Raises:
        FlashError: Missing file, unknown format, no probe, or the write failed.
    """
    path = Path(path)
    file_format = FIRMWARE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise FlashError(f"'{path.name}' is not a firmware file tinynas can flash; "
                         f"give a {', '.join(FIRMWARE_FORMATS)} file, or --model for a "
                         ".tflite")  # fmt: skip
    if not path.is_file():
        raise FlashError(f"firmware file '{path}' not found")
    used = _program(device, probe, str(path), file_format)
    return FlashReport(device.name, str(path), "firmware", path.stat().st_size, None, used)


def _program(device: Device, probe: str | None, source: Any, file_format: str,
             **kwargs: Any) -> str:  # fmt: skip
    """Open a pyocd session on ``device`` and program ``source``; returns the probe's id."""
    if not device.pyocd_target:
        raise FlashError(f"board '{device.name}' has no pyocd target (pyocd_target is empty in "
                         "its TOML); flash it with its vendor's tool")  # fmt: skip
    from pyocd.core.exceptions import Error as PyocdError
    from pyocd.flash.file_programmer import FileProgrammer

    session = _session(device, probe)
    try:
        with session:
            FileProgrammer(session).program(source, file_format=file_format, **kwargs)
    except (PyocdError, OSError, ValueError) as e:
        raise FlashError(f"flashing '{device.name}' through probe {session.probe.unique_id} "
                         f"failed: {e}") from e  # fmt: skip
    return str(session.probe.unique_id)


def _session(device: Device, probe: str | None) -> Any:
    """A pyocd session on the one matching probe (never pyocd's interactive chooser)."""
    from pyocd.core.helpers import ConnectHelper

    session = None
    with contextlib.redirect_stdout(io.StringIO()):  # pyocd prints "No connected debug probes"
        probes = ConnectHelper.get_all_connected_probes(blocking=False, unique_id=probe)
        if len(probes) == 1:
            session = ConnectHelper.session_with_chosen_probe(
                blocking=False, unique_id=probes[0].unique_id, target_override=device.pyocd_target,
                options={"hide_programming_progress": True},
            )  # fmt: skip
    if session is not None:
        return session
    if len(probes) <= 1:
        wanted = f" with id '{probe}'" if probe else ""
        raise FlashError(f"no debug probe{wanted} found for board '{device.name}' (pyocd target "
                         f"{device.pyocd_target}): connect the board's debug USB port "
                         "(ST-LINK / CMSIS-DAP / J-Link), then try again")  # fmt: skip
    ids = ", ".join(str(p.unique_id) for p in probes)
    raise FlashError(f"{len(probes)} debug probes are connected ({ids}); choose one with --probe")
