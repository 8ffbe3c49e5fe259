"""Options that many commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

devices_dir_option: Callable[[F], F] = click.option(
    "--devices-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of extra board TOML files (default: $TINYNAS_DEVICES).")


def json_option(help: str = "Print only JSON to stdout.") -> Callable[[F], F]:
    """``--json`` (parameter ``as_json``): the command prints JSON and nothing else."""
    return click.option("--json", "as_json", is_flag=True, help=help)
