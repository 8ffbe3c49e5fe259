"""``tinynas check``: the CI gate. Exit 0 when every model fits, 1 when any limit is exceeded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tinynas.cli._options import devices_dir_option, json_option

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tinynas.check import CheckReport, CheckRow


def _size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """Parses a size option; a bad one is a TinyNASError (one line, exit 2)."""
    from tinynas.units import SizeError, parse_size

    if value is None:
        return None
    try:
        return parse_size(value)
    except SizeError as e:
        raise SizeError(f"--{param.name.replace('_', '-')}: {e}") from e  # type: ignore[union-attr]


def _latency_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from tinynas.check import parse_latency_ms

    return None if value is None else parse_latency_ms(value)


def _console() -> Console:
    """A console that does not squeeze the table to 80 columns when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _cell(value: float | None, unit: str, signed: bool = False) -> str:
    if value is None:
        return "-"
    sign = "+" if signed else ""
    return f"{value:{sign},.2f} ms" if unit == "ms" else f"{value:{sign},.0f} B"


def _verdict(row: CheckRow) -> str:
    if row.fails_closed:
        return f"[bold red]PARTIAL[/bold red] (no cost for {row.uncovered})"
    if not row.checked:
        return "not checked" + (f"; partial (no cost for {row.uncovered})" if row.partial else "")
    verdict = "ok" if row.ok else "[bold red]OVER BUDGET[/bold red]"
    return verdict + (f"; partial (no cost for {row.uncovered})" if row.partial else "")


def _table(report: CheckReport) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title="tinynas check", title_justify="left")
    for header in ("model", "device", "resource", "value", "", "limit", "margin"):
        numeric = header in ("value", "limit", "margin")
        table.add_column(header, justify="right" if numeric else "left")
    table.add_column("limit from")
    table.add_column("verdict")
    for check in report.checks:
        for row in check.rows:
            style = None if row.ok else "red"
            value = (">= " if row.partial else "") + _cell(row.value, row.unit)
            kind = row.kind
            if row.basis:  # which arena: the Cortex-M estimate or the x86 measurement
                kind += " (Cortex-M)" if row.estimated else " (x86)"
            table.add_row(check.path.name, check.device, row.resource,
                          value, kind, _cell(row.limit, row.unit),
                          _cell(row.margin, row.unit, signed=True), row.limit_source,
                          _verdict(row), style=style)  # fmt: skip
    return table


def _summary(report: CheckReport) -> str:
    failed = [c for c in report.checks if not c.passed]
    if not failed:
        return f"check passed: {len(report.checks)} model/board pair(s) within every limit"
    over = "; ".join(
        f"{c.path.name} on {c.device}: "
        + ", ".join(f"{r.resource} (partial prediction)" if r.fails_closed else r.resource
                    for r in c.failures)
        for c in failed
    )  # fmt: skip
    return f"check failed: {len(failed)} of {len(report.checks)} over budget ({over})"


def _types_lines(report: CheckReport) -> list[str]:
    seen: dict[str, str] = {}
    for check in report.checks:
        t = check.types
        seen[check.path.name] = (f"{check.path.name}: {t['kind']} (input {t['input']}, output "
                                 f"{t['output']}; activations {', '.join(t['activations'])}; "
                                 f"weights {', '.join(t['weights']) or '-'})")  # fmt: skip
    return list(seen.values())


def _arena_lines(report: CheckReport) -> list[str]:
    """Per model: the x86 arena measured on the host and the Cortex-M estimate, or why there is
    none and the CMSIS-NN boards whose RAM row holds the x86 figure instead."""
    from tinynas.inspection import X86_BASIS

    lines: dict[str, str] = {}
    fallback: dict[str, dict[str, None]] = {}  # model -> its CMSIS-NN boards, in order
    for check in report.checks:
        a = check.arenas
        if not a:
            continue
        x86 = f"{'more than ' if a['arena_exceeds'] else ''}{a['arena_bytes']:,} B"
        why = a["arena_cortex_m_unavailable"]
        cortex = f"no Cortex-M estimate ({why})" if why is not None else \
            f"Cortex-M CMSIS-NN {a['arena_cortex_m_bytes']:,} B (estimated)"
        lines.setdefault(check.path.name, f"{check.path.name}: TFLM arena x86 {x86} (measured "
                                          f"on the host), {cortex}")
        if why is not None and any(row.basis == f"{X86_BASIS}: {why}" for row in check.rows):
            fallback.setdefault(check.path.name, {})[check.device] = None
    for name, boards in fallback.items():
        lines[name] += f"; RAM uses the x86 figure on {', '.join(boards)}"
    return list(lines.values())


def _print(report: CheckReport) -> None:
    console = _console()
    console.print(_table(report))
    for line in _types_lines(report) + _arena_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(_summary(report), markup=False, highlight=False)
    console.print(
        "flash: model file plus the board's firmware reserve (measured); RAM: TFLM arena plus "
        "the board's runtime reserve, the arena estimated for a Cortex-M on TFLM + CMSIS-NN "
        "boards, else measured on the host (x86 build); latency: predicted by the board's "
        "cycle model",
        style="dim",
    )


def _not_a_report(path: Path) -> str | None:
    """Why an existing ``path`` must not be replaced by a JUnit report, or None: an earlier
    report (a CI job reruns the gate) or an empty file (``mktemp``'s) may be, any other file
    may not."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    if b"<testsuites" in head or b"<testsuite" in head:
        return None
    return "it exists and is not a JUnit report, so it is not replaced"


@click.command("check")
@click.argument("models", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--device", "device_names", multiple=True, required=True,
              help="Board name or alias; repeat for several boards.")
@click.option("--max-flash", callback=_size_option, metavar="SIZE",
              help="Limit on model file + firmware reserve: 65536, 512KB, 512KiB, 1MB, 1MiB.")
@click.option("--max-ram", callback=_size_option, metavar="SIZE",
              help="Limit on TFLM arena + runtime reserve, e.g. 64KB (64,000 B) or 64KiB.")
@click.option("--max-latency", callback=_latency_option, metavar="MS",
              help="Limit on the predicted latency in milliseconds.")
@devices_dir_option
@json_option()
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write the verdict as JUnit XML, for CI test reports.")
@click.option("--allow-partial-latency", is_flag=True,
              help="Hold a partial latency prediction (some op without a cost, a lower bound) "
                   "to --max-latency; by default such a check fails.")
def check(
    models: tuple[Path, ...],
    device_names: tuple[str, ...],
    max_flash: int | None,
    max_ram: int | None,
    max_latency: float | None,
    devices_dir: Path | None,
    as_json: bool,
    junit: Path | None,
    allow_partial_latency: bool,
) -> None:  # fmt: skip
    """Gate MODELS (.tflite: int8, int16x8, float or mixed) on a board: exit 0 when every limit
    holds, 1 when any is exceeded, 2 for bad input.

    Flash is the model file plus the board's firmware reserve; RAM is the TFLM arena plus the
    runtime reserve, the arena being estimated for a Cortex-M on a board that runs TFLM with
    CMSIS-NN, else (or for ops that estimate does not model) measured by loading the model in
    TFLite Micro on the host (x86 build); latency is the board's prediction. Without
    --max-flash / --max-ram the limits are the board's flash and SRAM. A latency prediction
    that lacks some op's cost is partial and fails --max-latency unless
    --allow-partial-latency is given. Each model's tensor types and both arena figures are
    reported.
    """
    import json
    import sys

    from tinynas.check import Limits, check_models, write_junit
    from tinynas.cli._output import OutputError, file_problem
    from tinynas.devices import get_device

    problem = None if junit is None else file_problem(junit) or _not_a_report(junit)
    if problem is not None:  # before the models are loaded in TFLM
        raise OutputError(f"cannot write the JUnit report '{junit}': {problem}; give another "
                          "--junit")  # fmt: skip
    devices = [get_device(name, devices_dir) for name in device_names]
    limits = Limits(max_flash, max_ram, max_latency, allow_partial_latency)
    report = check_models(models, devices, limits)
    if junit is not None:
        write_junit(report, junit)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
    sys.exit(report.exit_code)  # not ctx.exit: click returns its code in non-standalone mode
