"""``tinynas inspect``: ops, params, MACs, flash, measured TFLM arena and fit of an int8 model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tinynas.cli._options import devices_dir_option, json_option

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tinynas.inspection import InspectReport


def _kb(size_bytes: int) -> str:
    return f"{size_bytes:,} B ({size_bytes / 1024:,.1f} KB)"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _io_text(shape: tuple[int, ...], dtype: str, scale: float | None, zp: int | None) -> str:
    quant = f", scale {scale:.6g}, zero point {zp}" if scale is not None else ""
    return f"{_shape(shape)} {dtype}{quant}"


def _summary_rows(report: InspectReport) -> list[tuple[str, str, str]]:
    """(field, value, where it comes from) rows of the summary."""
    m, src = report.model, report.provenance
    counts = ", ".join(f"{op} {n}" for op, n in m.op_counts.items())
    rows = [
        ("file size", _kb(m.size_bytes), src["size_bytes"]),
        ("input", _io_text(m.input_shape, m.input_dtype, m.input_scale, m.input_zero_point),
         src["input"]),
        ("output", _io_text(m.output_shape, m.output_dtype, m.output_scale, m.output_zero_point),
         src["output"]),
        ("ops", f"{len(m.ops)} ({counts})", src["op_count"]),
        ("params", f"{m.params:,}", src["params"]),
        ("MACs", f"{m.macs:,}", src["macs"]),
        ("TFLM arena", _kb(report.arena.total_bytes), src["arena_bytes"]),
    ]  # fmt: skip
    if report.latency is not None:
        label = f"predicted on {report.device.name if report.device else '?'}"
        rows.append(("latency", f"{report.latency.latency_ms:,.1f} ms ({label})",
                     f"predicted; coefficients: {report.latency.source}"))  # fmt: skip
    return rows


def _summary_table(report: InspectReport) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=str(report.model.path), title_justify="left", box=box.SIMPLE)
    for header in ("field", "value", "source"):
        table.add_column(header, style="bold" if header == "field" else None)
    for row in _summary_rows(report):
        table.add_row(*row)
    return table


def _ops_table(report: InspectReport) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title="ops (MACs of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED)",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    table.add_column("#", justify="right")
    table.add_column("op")
    table.add_column("output shape")
    table.add_column("MACs", justify="right")
    table.add_column("params", justify="right")
    for op in report.model.ops:
        table.add_row(str(op.index), op.op, _shape(op.output_shape), f"{op.macs:,}",
                      f"{op.params:,}")  # fmt: skip
    return table


def _fit_table(report: InspectReport) -> Table:
    from rich import box
    from rich.table import Table

    name = report.device.name if report.device else "?"
    table = Table(title=f"fit on {name} (bytes)", box=box.SIMPLE_HEAD)
    table.add_column("resource")
    table.add_column("needed")
    for header in ("value", "limit", "margin"):
        table.add_column(header, justify="right")
    table.add_column("verdict")
    for row in report.fit:
        parts = " + ".join(f"{what} {size:,}" for what, size in row.parts)
        verdict = "[green]fits[/green]" if row.ok else "[red]does not fit[/red]"
        table.add_row(row.resource, parts, f"{row.value:,}", f"{row.limit:,}",
                      f"{row.margin:+,}", verdict)  # fmt: skip
    return table


def _print_report(report: InspectReport) -> None:
    console = _console()
    console.print(_summary_table(report), _ops_table(report))
    if report.fit:
        console.print(_fit_table(report))


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--device", "device_name", default=None, help="Board name or alias: fit + latency.")
@devices_dir_option
@json_option()
def inspect_cmd(
    model: Path, device_name: str | None, devices_dir: Path | None, as_json: bool
) -> None:
    """Ops, params, MACs, flash and the measured TFLM arena of an int8 MODEL.tflite.

    With --device, also the predicted latency and whether the model fits the board's flash
    and SRAM.
    """
    import json

    from tinynas.devices import get_device
    from tinynas.inspection import inspect_model

    device = get_device(device_name, devices_dir) if device_name else None
    report = inspect_model(model, device)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
