"""``tinynas ports``: serial ports of attached boards, named from the catalogue's USB ids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tinynas.cli._options import devices_dir_option, json_option

if TYPE_CHECKING:
    from tinynas.profile import PortMatch


def _board_text(match: PortMatch) -> str:
    if match.board:
        return match.board
    if match.candidates:
        return "one of " + ", ".join(match.candidates) + " (product string decides none)"
    return "-"


def _print_table(matches: list[PortMatch]) -> None:
    from rich import box
    from rich.table import Table

    from tinynas.cli._profile import console

    table = Table(box=box.SIMPLE_HEAD)
    for header in ("port", "USB id", "product", "board"):
        table.add_column(header)
    for m in matches:
        table.add_row(m.port, m.usb_id or "-", m.product or m.description, _board_text(m))
    console().print(table)


@click.command("ports")
@click.option("--all", "all_ports", is_flag=True, help="Also list ports that are not USB.")
@devices_dir_option
@json_option()
def ports(all_ports: bool, devices_dir: Path | None, as_json: bool) -> None:
    """Serial ports of attached boards: a board is named when its USB VID:PID and product
    string match a catalogue entry."""
    import json

    from tinynas.profile import find_ports

    matches = find_ports(devices_dir, all_ports)
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in matches], indent=2))
    elif not matches:
        click.echo("no USB serial ports found: connect a board, or run 'tinynas emulate DEVICE' "
                   "for an emulated one")
    else:
        _print_table(matches)
