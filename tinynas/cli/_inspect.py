"""``tinynas inspect``: ops, types, params, MACs, flash, TFLM arena (measured on the host, and
estimated for a Cortex-M with CMSIS-NN) and fit of a model."""

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
    types = f"{m.kind} (activations {', '.join(m.activation_types) or '-'}; weights " \
            f"{', '.join(m.weight_types) or '-'})"
    rows = [
        ("file size", _kb(m.size_bytes), src["size_bytes"]),
        ("types", types, src["types"]),
        ("input", _io_text(m.input_shape, m.input_dtype, m.input_scale, m.input_zero_point),
         src["input"]),
        ("output", _io_text(m.output_shape, m.output_dtype, m.output_scale, m.output_zero_point),
         src["output"]),
        ("ops", f"{len(m.ops)} ({counts})", src["op_count"]),
        ("params", f"{m.params:,}", src["params"]),
        ("MACs", f"{m.macs:,}", src["macs"]),
        ("element ops", f"{m.element_ops:,}", src["element_ops"]),
        ("TFLM arena, x86", _kb(report.arena.total_bytes), src["arena_bytes"]),
    ]  # fmt: skip
    if report.cortex_m.total_bytes is not None:
        rows.append(("TFLM arena, Cortex-M", _kb(report.cortex_m.total_bytes),
                     src["arena_cortex_m_bytes"]))
    if m.uncounted_ops:
        names = ", ".join(sorted({op.op for op in m.uncounted_ops}))
        rows.append(("not counted", f"{len(m.uncounted_ops)} op(s): {names}",
                     "their arithmetic is unknown; MACs and element ops leave them out"))
    latency = report.latency
    if latency is not None:
        label = f"predicted on {report.device.name if report.device else '?'}"
        value = f"{latency.latency_ms:,.1f} ms ({label})"
        if latency.partial:
            value = f">= {value}, partial: no cost for {latency.uncovered_text()}"
        rows.append(("latency", value, f"predicted; coefficients: {latency.source}"))
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

    table = Table(title="ops (work: mac = multiply-accumulates, element = element operations, "
                        "data = moves data only, unknown = not counted)", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right")
    table.add_column("op")
    table.add_column("output shape")
    table.add_column("work")
    table.add_column("MACs", justify="right")
    table.add_column("element ops", justify="right")
    table.add_column("params", justify="right")
    for op in report.model.ops:
        table.add_row(str(op.index), op.op, _shape(op.output_shape), op.work,
                      "?" if not op.counted else f"{op.macs:,}",
                      "?" if not op.counted else f"{op.element_ops:,}", f"{op.params:,}")
    return table


def _fit_table(report: InspectReport) -> Table:
    from rich import box
    from rich.table import Table

    name = report.device.name if report.device else "?"
    basis = next((row.basis for row in report.fit if row.basis), "")
    table = Table(title=f"fit on {name} (bytes)", box=box.SIMPLE_HEAD,
                  caption=f"RAM: {basis}" if basis else None, caption_justify="left")
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
@click.option("--strict", is_flag=True,
              help="Fail (exit 2) when a figure is incomplete: an op whose arithmetic is "
                   "unknown, or a latency prediction that lacks an op's cost.")
@devices_dir_option
@json_option()
def inspect_cmd(
    model: Path, device_name: str | None, strict: bool, devices_dir: Path | None, as_json: bool
) -> None:
    """Ops, tensor types, params, MACs, flash and the TFLM arena of MODEL.tflite (int8,
    int16x8, float or mixed: any model TFLite Micro runs): measured on the host (x86 build) and,
    for an int8 model of the ops it models, estimated for a Cortex-M with CMSIS-NN.

    With --device, also the predicted latency and whether the model fits the board's flash
    and SRAM: on a board that runs TFLM with CMSIS-NN the RAM fit uses the Cortex-M estimate,
    elsewhere (or without that estimate) the x86 measurement, and says which. Ops without a
    count or a latency cost are listed, and the prediction is marked partial (a lower bound).
    """
    import json

    from tinynas.devices import get_device
    from tinynas.errors import TinyNASError
    from tinynas.inspection import inspect_model

    device = get_device(device_name, devices_dir) if device_name else None
    report = inspect_model(model, device)
    gaps = report.gaps()
    if strict and gaps:
        raise TinyNASError(f"{model}: {'; '.join(gaps)}; --strict refuses an incomplete "
                           "report (drop it to see the partial figures)")  # fmt: skip
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
