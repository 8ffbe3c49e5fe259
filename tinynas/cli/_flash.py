"""``tinynas flash``: firmware, or a model into the model slot, through pyocd."""

from __future__ import annotations

from pathlib import Path

import click

from tinynas.cli._options import devices_dir_option


@click.command("flash")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--device", "device_name", required=True, help="Board name or alias.")
@click.option("--model", "as_model", is_flag=True,
              help="FILE is a .tflite: write it into the board's model slot.")
@click.option("--probe", default=None, help="Unique id (or part) of the debug probe to use.")
@devices_dir_option
def flash(file: Path, device_name: str, as_model: bool, probe: str | None,
          devices_dir: Path | None) -> None:  # fmt: skip
    """Program FILE (.bin/.hex/.elf firmware, or with --model a .tflite) onto a board.

    A model goes to the board's model_slot_address with a 4-byte little-endian length before
    it (profilers/PROTOCOL.md section 7); the profiler firmware loads it with 'model slot%'.
    """
    from tinynas.devices import get_device
    from tinynas.profile import flash_firmware, flash_model

    device = get_device(device_name, devices_dir)
    if as_model:
        report = flash_model(device, file, probe)
        where = f"the model slot at 0x{report.address:08X}"
    else:
        report = flash_firmware(device, file, probe)
        where = "flash"
    click.echo(f"flashed {report.path} ({report.size_bytes:,} bytes) into {where} of "
               f"{report.device} through probe {report.probe}")  # fmt: skip
