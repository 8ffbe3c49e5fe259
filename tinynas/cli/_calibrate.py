"""``tinynas calibrate``: refit a board's latency model from latencies measured on the board."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tinynas.cli._options import POSITIVE, devices_dir_option, force_option, json_option
from tinynas.cli._output import write_output

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tinynas.devices import Device, LatencyModel
    from tinynas.estimators import Calibration


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _source(calibration: Calibration, measurements: Path) -> str:
    names = ", ".join(r.name for r in calibration.rows)
    return (
        f"calibrated by 'tinynas calibrate' from {len(calibration.rows)} measured latencies "
        f"({measurements.name}: {names}); leave-one-out error <= "
        f"{100 * calibration.max_abs_error:.0f}%; prior: the board's previous coefficients"
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def device_toml(device: Device, latency: LatencyModel) -> str:
    """A complete device TOML file: ``device``'s fields with ``latency`` as its latency model."""
    from tinynas.estimators import latency_toml

    lines = [f"# {device.title}: latency model refitted by 'tinynas calibrate'."]
    for field in fields(device):
        if field.name != "latency":
            lines.append(f"{field.name} = {_toml_value(getattr(device, field.name))}")
    return "\n".join(lines) + "\n\n" + latency_toml(latency)


def _is_builtin(folder: Path) -> bool:
    from tinynas.devices import builtin_catalogue_dir

    return folder.resolve() == Path(str(builtin_catalogue_dir())).resolve()


def _refuse_builtin(folder: Path) -> None:
    from tinynas.errors import CatalogueError

    if _is_builtin(folder):
        raise CatalogueError(
            f"--write {folder} is the builtin board catalogue; write into a user devices "
            "folder instead and use it with --devices-dir or $TINYNAS_DEVICES"
        )


def _board_file(device: Device, folder: Path) -> Path:
    return folder / f"{device.name}.toml"


def write_device(device: Device, latency: LatencyModel, folder: Path) -> Path:
    """Write ``folder/<name>.toml`` after checking that tinynas.devices reads it back."""
    from tinynas.devices import parse_device
    from tinynas.errors import CatalogueError

    _refuse_builtin(folder)
    path = _board_file(device, folder)
    text = device_toml(device, latency)
    parse_device(str(path), device.name, text)  # raises CatalogueError if it would not load
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CatalogueError(
            f"cannot create '{folder}': {e}; choose a writable --write folder"
        ) from e
    write_output(path, text, "--write")
    return path


def _coefficients_table(latency: LatencyModel) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title="fitted coefficients (cycles)", box=box.SIMPLE_HEAD)
    table.add_column("op")
    for header in ("cycles/MAC", "cycles/output", "cycles/op"):
        table.add_column(header, justify="right")
    for op, c in latency.ops.items():
        table.add_row(op, f"{c.cycles_per_mac:.4g}", f"{c.cycles_per_output:.4g}",
                      f"{c.cycles_per_op:.4g}")  # fmt: skip
    return table


def _holdout_table(calibration: Calibration) -> Table:
    from rich import box
    from rich.table import Table

    title = (f"leave-one-out: each model predicted by a fit on the others "
             f"(max error {100 * calibration.max_abs_error:.1f}%)")  # fmt: skip
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("model")
    for header in ("measured ms", "fit ms (predicted)", "held-out ms (predicted)", "error"):
        table.add_column(header, justify="right")
    for r in calibration.rows:
        table.add_row(r.name, f"{r.latency_ms:.2f}", f"{r.fitted_ms:.2f}",
                      f"{r.held_out_ms:.2f}", f"{100 * r.error:+.1f}%")  # fmt: skip
    return table


def _as_json(device: Device, calibration: Calibration, latency: LatencyModel,
             written: Path | None) -> dict[str, Any]:  # fmt: skip
    from dataclasses import asdict

    rows = [{**asdict(r), "error": r.error} for r in calibration.rows]
    return {
        "device": device.name,
        "clock_hz": calibration.clock_hz,
        "latency": {"source": latency.source,
                    "ops": {op: asdict(c) for op, c in latency.ops.items()}},
        "leave_one_out": rows,
        "max_abs_error": calibration.max_abs_error,
        "provenance": {"latency_ms": "measured", "fitted_ms": "predicted",
                       "held_out_ms": "predicted"},
        "written": str(written) if written else None,
    }  # fmt: skip


@click.command("calibrate")
@click.argument("measurements", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--device", "device_name", required=True, help="Board name or alias.")
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="User devices folder to write the refitted <board>.toml into.",
)
@force_option("the <board>.toml in the --write folder")
@devices_dir_option
@click.option(
    "--prior-width",
    type=POSITIVE,
    default=10.0,
    show_default=True,
    help="Width of the prior around the current coefficients, as a multiple of each.",
)
@json_option()
def calibrate(
    measurements: Path,
    device_name: str,
    write_dir: Path | None,
    force: bool,
    devices_dir: Path | None,
    prior_width: float,
    as_json: bool,
) -> None:
    """Refit a board's latency model to MEASUREMENTS.json.

    MEASUREMENTS.json is a list of {"model": "m.tflite", "latency_ms": 12.3, "provenance":
    "measured"} (paths relative to the JSON file), timed on the board at its catalogue clock.
    Emulated latencies are refused. The board's current coefficients are a weak prior
    (--prior-width). Prints the fitted coefficients and each model's leave-one-out error;
    --write DIR writes the refitted board into a user devices folder.
    """
    from tinynas.cli._output import check_out_dir, refuse_existing
    from tinynas.devices import get_device
    from tinynas.estimators import calibrate_device, load_measurements, with_source

    if write_dir is not None:
        check_out_dir(write_dir, "--write")  # before the fit, not after it
    device = get_device(device_name, devices_dir)
    if write_dir is not None:
        _refuse_builtin(write_dir)
        refuse_existing([_board_file(device, write_dir)], "--write", force)
    calibration = calibrate_device(device, load_measurements(measurements), prior_width)
    latency = with_source(calibration.parameters, _source(calibration, measurements))
    written = write_device(device, latency, write_dir) if write_dir is not None else None
    if as_json:
        click.echo(json.dumps(_as_json(device, calibration, latency, written), indent=2))
        return
    _console().print(_coefficients_table(latency), _holdout_table(calibration))
    if written is not None:
        click.echo(f"wrote {written} (use it with --devices-dir {written.parent})")
