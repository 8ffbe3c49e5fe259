"""``tinynas devices``: the board catalogue as a table, one board in full, or JSON.

A user board file that does not load is not listed: the good boards are printed as usual (the
JSON keeps its form, a list of boards), each unreadable file gets one ``warning:`` line on
stderr naming the file and the problem, and the exit status is 1 (as ``ls`` does when it
cannot read some entries). ``devices show NAME`` of a board in such a file is its one-line
error, exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tinynas.cli._options import devices_dir_option, json_option
from tinynas.devices import Device, get_device, read_catalogue


def _kb(size_bytes: int) -> str:
    return f"{size_bytes / 1024:,.0f}" if size_bytes % 1024 == 0 else f"{size_bytes / 1024:,.1f}"


def _mhz(clock_hz: int) -> str:
    return f"{clock_hz / 1e6:g}"


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _catalogue_table(devices: list[Device]) -> Table:
    table = Table(title="tinynas board catalogue (KB = 1024 bytes)", box=box.SIMPLE_HEAD)
    for header in ("name", "aliases", "core", "MHz"):
        table.add_column(header, no_wrap=header == "name")
    for header in ("SRAM KB", "flash KB", "RAM budget KB", "flash budget KB"):
        table.add_column(header, justify="right")
    table.add_column("kernel library")
    for d in devices:
        table.add_row(
            d.name, ", ".join(d.aliases), d.core, _mhz(d.clock_hz),
            _kb(d.sram_bytes), _kb(d.flash_bytes),
            _kb(d.ram_budget_bytes), _kb(d.flash_budget_bytes), d.kernel_library,
        )  # fmt: skip
    return table


def _board_rows(device: Device) -> list[tuple[str, str]]:
    """Every field of one board as (label, text), sizes in bytes and KB."""
    rows: list[tuple[str, str]] = []
    for key, value in device.to_dict().items():
        if key == "latency":
            continue
        if key.endswith("_bytes"):
            text = f"{value:,} B ({_kb(value)} KB)"
        elif key == "clock_hz":
            text = f"{value:,} Hz ({_mhz(value)} MHz)"
        elif key == "model_slot_address":
            text = f"0x{value:08X}" if value else "none"
        elif isinstance(value, list):
            text = ", ".join(value) or "-"
        else:
            text = str(value) if value != "" else "-"
        rows.append((key, text))
    return rows


def _latency_table(device: Device) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("op")
    for header in ("cycles/MAC", "cycles/output", "cycles/op"):
        table.add_column(header, justify="right")
    for op, c in device.latency.ops.items():
        table.add_row(
            op, f"{c.cycles_per_mac:g}", f"{c.cycles_per_output:g}", f"{c.cycles_per_op:g}"
        )
    return table


def _board_view(device: Device) -> tuple[Table, Text, Table]:
    fields_table = Table(
        title=device.title, show_header=False, title_justify="left", box=box.SIMPLE
    )
    fields_table.add_column("field", style="bold")
    fields_table.add_column("value")
    for label, text in _board_rows(device):
        fields_table.add_row(label, text)
    source = Text.assemble(("latency model: ", "bold"), device.latency.source)
    return fields_table, source, _latency_table(device)


@click.group(invoke_without_command=True)
@json_option("Print JSON to stdout.")
@devices_dir_option
@click.pass_context
def devices(ctx: click.Context, as_json: bool, devices_dir: Path | None) -> None:
    """List the board catalogue, or show one board (tinynas devices show NAME)."""
    ctx.ensure_object(dict)
    ctx.obj["devices_dir"] = devices_dir
    if ctx.invoked_subcommand is not None:
        return
    catalogue = read_catalogue(devices_dir)
    boards = list(catalogue.boards.values())
    if as_json:
        _echo_json([d.to_dict() for d in boards])
    else:
        _console().print(_catalogue_table(boards))
    for bad in catalogue.unreadable:
        click.echo(f"warning: board file not listed: {bad.error} (fix or remove the file)",
                   err=True)
    if catalogue.unreadable:
        sys.exit(1)


@devices.command("show")
@click.argument("name")
@json_option("Print JSON to stdout.")
@devices_dir_option
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool, devices_dir: Path | None) -> None:
    """Show every field of board NAME (a board name or alias)."""
    device = get_device(name, devices_dir or ctx.obj.get("devices_dir"))
    if as_json:
        _echo_json(device.to_dict())
    else:
        _console().print(*_board_view(device))
