"""Host side of on-board measurement: protocol, serial transport, ports, emulated board, flashing.

The protocol is specified in ``profilers/PROTOCOL.md``. :func:`profile_model` measures a model
on a board (or on an emulated board, whose cycles come from the device's latency model and are
labelled ``emulated``); :class:`ProfilerClient` is the command-level API underneath it;
:class:`EmulatedBoard` is the board side in Python; :func:`find_ports` finds attached boards;
:func:`flash_firmware` and :func:`flash_model` program a board through pyocd.
"""

from __future__ import annotations

from tinynas.profile._client import BoardError, ProfilerClient, Timeouts
from tinynas.profile._emulator import FAULTS_ENV, EmulatedBoard, Faults, spawn_emulator
from tinynas.profile._flash import FlashError, FlashReport, flash_firmware, flash_model, slot_plan
from tinynas.profile._ports import PortMatch, find_ports, match_port, match_ports
from tinynas.profile._protocol import (
    PROTOCOL,
    UPLOAD_IDLE_S,
    abort_frame,
    align16,
    crc_hex,
    encode_frame,
    parse_line,
    parse_slot_image,
    random_input,
    slot_image,
)
from tinynas.profile._qemu import MACHINES as QEMU_MACHINES
from tinynas.profile._qemu import QemuBoard
from tinynas.profile._result import (
    ArenaInfo,
    BoardInfo,
    Inference,
    LapInference,
    OpProfile,
    OpSample,
    ProfileResult,
    UploadStats,
)
from tinynas.profile._session import host_input, host_output_crc32, profile_model
from tinynas.profile._transport import SerialTransport

__all__ = [
    "QEMU_MACHINES",
    "QemuBoard",
    "FAULTS_ENV",
    "PROTOCOL",
    "UPLOAD_IDLE_S",
    "ArenaInfo",
    "BoardError",
    "BoardInfo",
    "EmulatedBoard",
    "Faults",
    "FlashError",
    "FlashReport",
    "Inference",
    "LapInference",
    "OpProfile",
    "OpSample",
    "PortMatch",
    "ProfileResult",
    "ProfilerClient",
    "SerialTransport",
    "Timeouts",
    "UploadStats",
    "abort_frame",
    "align16",
    "crc_hex",
    "encode_frame",
    "find_ports",
    "flash_firmware",
    "flash_model",
    "host_input",
    "host_output_crc32",
    "match_port",
    "match_ports",
    "parse_line",
    "parse_slot_image",
    "profile_model",
    "random_input",
    "slot_image",
    "slot_plan",
    "spawn_emulator",
]
