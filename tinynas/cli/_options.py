"""Options and option types that many commands share, declared once.

Every number a command takes is checked here, at the CLI's edge: a float option is a
:class:`FiniteFloat` (no nan, no inf, in its range), an int option a ``click.IntRange`` with
both bounds where a huge value would break what it is handed to (a seed, a port, a row id).
``tinynas.cli.main`` prints the failure as one line that names the option, the value and the
accepted range.
"""

from __future__ import annotations

import math
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


def executor_options(f: F) -> F:
    """``--workers``, ``--ray [ADDRESS]`` and ``--gpus-per-job``: where trainings run
    (``tinynas.executor``); parameters ``workers``, ``ray`` (None, "" or an address) and
    ``gpus_per_job``."""
    f = click.option("--gpus-per-job", default=0.0, type=FiniteFloat(0, 1),
                     help="With --ray: the share of a GPU each training asks for (e.g. 0.25 "
                          "trains four at once on one GPU).")(f)
    f = click.option("--ray", default=None, is_flag=False, flag_value="", metavar="[ADDRESS]",
                     help="Run trainings on Ray: a local Ray, or the cluster at ADDRESS "
                          "(HOST:PORT, or $RAY_ADDRESS). Needs pip install 'tinynas[ray]'.")(f)
    return click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 256),
                        help="Train in this many local worker processes (0: in this "
                             "process); with --ray, the CPUs of the local Ray it starts.")(f)


def force_option(what: str) -> Callable[[F], F]:
    """``--force`` (parameter ``force``): replace output files that exist, ``what`` says which.
    Without it a command refuses to write over any existing file."""
    return click.option("--force", is_flag=True, help=f"Replace {what} if it exists.")


def _number(x: float) -> str:
    """``0`` for 0.0, ``0.5`` for 0.5: a bound as a person writes it."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class FiniteFloat(click.FloatRange):
    """A finite float (never nan or inf) within ``min``/``max``; either bound may be open.

    ``click.FloatRange`` alone lets nan through (every comparison with nan is false) and inf
    too when there is no upper bound. A bad value fails with ``VALUE is not a finite number
    RANGE``, e.g. ``nan is not a finite number greater than 0``.
    """

    def __init__(self, min: float | None = None, max: float | None = None,
                 min_open: bool = False, max_open: bool = False) -> None:  # fmt: skip
        super().__init__(min, max, min_open=min_open, max_open=max_open)

    def describe(self) -> str:
        """The accepted range in words: ``greater than 0``, ``from 0 to 1``, ``""`` for any."""
        low = high = ""
        if self.min is not None:
            low = f"greater than{'' if self.min_open else ' or equal to'} {_number(self.min)}"
        if self.max is not None:
            high = f"less than{'' if self.max_open else ' or equal to'} {_number(self.max)}"
        if self.min is not None and self.max is not None and not (self.min_open or self.max_open):
            return f"from {_number(self.min)} to {_number(self.max)}"
        return " and ".join(part for part in (low, high) if part)

    def _in_range(self, x: float) -> bool:
        above = self.min is None or (x > self.min if self.min_open else x >= self.min)
        below = self.max is None or (x < self.max if self.max_open else x <= self.max)
        return above and below

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:  # fmt: skip
        try:
            x = float(value)
            shown = value.strip() if isinstance(value, str) else _number(x)
        except (TypeError, ValueError, OverflowError):
            x, shown = math.nan, repr(value)
        if not (math.isfinite(x) and self._in_range(x)):
            self.fail(f"{shown} is not a finite number {self.describe()}".rstrip(), param, ctx)
        return x


# floats
POSITIVE = FiniteFloat(0, min_open=True)  # epochs, timeouts, latency limits, widths
NON_NEGATIVE = FiniteFloat(0)  # loss weights, jitter
FRACTION = FiniteFloat(0, 1)  # an accuracy

# ints: seeds reach random, numpy (which refuses 2**32 and above) and torch
SEED = click.IntRange(0, 2**32 - 1)
CANDIDATE_ID = click.IntRange(1, 2**63 - 1)  # a run store's SQLite row id
BAUD = click.IntRange(1, 2**31 - 1)  # a C int in termios and the emulator
TCP_PORT = click.IntRange(0, 65535)  # 0: the system picks a free port
