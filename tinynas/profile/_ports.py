"""Serial ports of attached boards, matched against the catalogue's USB ids.

A port whose USB VID:PID and product string match a catalogue board is named after it. Some
VID:PIDs are shared (every ST-LINK/V2-1 board is 0483:374B), so a VID:PID match alone gives only
candidates; the product string (``usb_product``) narrows them, and a board with an empty
``usb_product`` matches on VID:PID alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from tinynas.devices import Device, load_catalogue


class PortRecord(Protocol):
    """What pyserial's ``ListPortInfo`` offers and matching needs."""

    device: str
    description: str
    vid: int | None
    pid: int | None
    product: str | None
    serial_number: str | None


@dataclass(frozen=True)
class PortMatch:
    """One serial port and the catalogue boards it may be."""

    port: str
    description: str
    usb_id: str | None  # "0483:374B", or None for a port that is not USB
    product: str | None
    serial_number: str | None
    board: str | None  # the board whose VID:PID and product string both match
    candidates: tuple[str, ...]  # boards with this VID:PID, when the product string decides none

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidates"] = list(self.candidates)
        return data


def usb_id(vid: int | None, pid: int | None) -> str | None:
    """``VID:PID`` as the catalogue writes it (4 uppercase hex digits each)."""
    if vid is None or pid is None:
        return None
    return f"{vid:04X}:{pid:04X}"


def match_port(record: PortRecord, catalogue: Mapping[str, Device]) -> PortMatch:
    """The catalogue boards ``record`` may be (pure: no I/O)."""
    ident = usb_id(record.vid, record.pid)
    same_id = [d for d in catalogue.values() if ident is not None and ident in d.usb_ids]
    product = (record.product or "").lower()
    exact = [d.name for d in same_id if not d.usb_product or d.usb_product.lower() in product]
    board = exact[0] if len(exact) == 1 else None
    candidates = () if board else tuple(exact or (d.name for d in same_id))
    return PortMatch(record.device, record.description, ident, record.product,
                     record.serial_number, board, candidates)  # fmt: skip


def match_ports(records: Iterable[PortRecord], catalogue: Mapping[str, Device]) -> list[PortMatch]:
    """:func:`match_port` for each record, sorted by port name."""
    return sorted((match_port(r, catalogue) for r in records), key=lambda m: m.port)


def find_ports(devices_dir: str | Path | None = None, all_ports: bool = False) -> list[PortMatch]:
    """Serial ports of this machine (pyserial's ``list_ports``), matched to the catalogue.

    Args:
        devices_dir: Folder of extra board TOML files.
        all_ports: Also list ports that match no board (by default only USB ports are listed).
    """
    from serial.tools import list_ports

    matches = match_ports(list_ports.comports(), load_catalogue(devices_dir))
    if all_ports:
        return matches
    return [m for m in matches if m.usb_id is not None]
