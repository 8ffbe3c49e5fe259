"""The ``tinynas`` command line: each command parses, calls one library function, formats.

Commands live in their own modules and are imported only when invoked, so ``tinynas --help``
never imports TensorFlow or torch.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from tinynas import __version__
from tinynas.errors import TinyNASError
from tinynas.native import DEBUG_ENV

# command name -> "module:attribute" of its click command
_COMMANDS = {
    "arch": "tinynas.cli._arch:arch",
    "calibrate": "tinynas.cli._calibrate:calibrate",
    "check": "tinynas.cli._check:check",
    "devices": "tinynas.cli._devices:devices",
    "emulate": "tinynas.cli._emulate:emulate",
    "export": "tinynas.cli._export:export",
    "flash": "tinynas.cli._flash:flash",
    "inspect": "tinynas.cli._inspect:inspect_cmd",
    "ports": "tinynas.cli._ports:ports",
    "profile": "tinynas.cli._profile:profile",
    "proxies": "tinynas.cli._proxies:proxies",
    "refine": "tinynas.cli._refine:refine",
    "runs": "tinynas.cli._runs:runs",
    "search": "tinynas.cli._search:search",
}

_HELP = {
    "arch": "Sample, validate and estimate architectures of the search space.",
    "calibrate": "Refit a board's latency model from measured latencies.",
    "check": "CI gate: exit 1 when a model does not fit a board's flash, RAM or latency.",
    "devices": "List the board catalogue, or show one board.",
    "emulate": "Run an emulated board that speaks the profiler protocol.",
    "export": "Write model.tflite, model_data.cc/.h and model_card.json for a model.",
    "flash": "Put firmware or a model on a board through pyocd.",
    "inspect": "Ops, params, MACs, flash, TFLM arena and fit of a .tflite.",
    "ports": "Serial ports of attached boards, matched by the catalogue's USB ids.",
    "profile": "Measure a model's latency on a board (or an emulated one) over serial.",
    "proxies": "Trainingless metrics: list them, or validate them on your data.",
    "refine": "Refine a run's channel widths under the board budget (RARTS / DARTS).",
    "runs": "List search runs, or show one run's Pareto front and chosen model.",
    "search": "Search for a network that fits a board: tinynas search --device=stm32.",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # only the commands whose module is present in this version
        return sorted(n for n, t in _COMMANDS.items() if importlib.util.find_spec(t.split(":")[0]))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        target = _COMMANDS[name]
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="tinynas")
@click.option("--debug", is_flag=True,
              help="Show the full traceback of an error, and the log output of TensorFlow and "
                   "the other native libraries.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tinynas: find small neural networks that fit a microcontroller, and prove that they do."""
    ctx.obj = {"debug": debug}
    if debug:  # read by tinynas.native, which otherwise silences the native libraries' logs
        os.environ[DEBUG_ENV] = "1"


# click >= 8.2 raises it for a group run without a command; click 8.1 prints the help itself
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def usage_error_line(e: click.UsageError) -> str:
    """Click's usage error as the text of one ``error:`` line: ``--epochs: nan is not a finite
    number greater than 0 (see 'tinynas search --help')``, ``missing option '--device' (...)``."""
    message = e.format_message()
    if isinstance(e, click.BadParameter) and not isinstance(e, click.MissingParameter):
        hint = _param_hint(e)
        if hint:
            message = f"{hint}: {e.message}"
    message = _one_line(message).rstrip(".")
    first = message.split(" ", 1)[0]
    if first.isalpha() and first.istitle():  # "Missing option" -> "missing option"; not "DEVICE"
        message = message[0].lower() + message[1:]
    if e.ctx is not None:
        help_option = (e.ctx.help_option_names or ["--help"])[0]
        message += f" (see '{e.ctx.command_path} {help_option}')"
    return message


def _param_hint(e: click.BadParameter) -> str | None:
    """``--epochs`` (or ``DEVICE`` for an argument): the parameter that click names quoted."""
    if isinstance(e.param_hint, str):
        return e.param_hint.strip("'")
    if e.param_hint is not None:
        return " / ".join(h.strip("'") for h in e.param_hint)
    if isinstance(e.param, click.Option):
        return " / ".join(e.param.opts)
    if e.param is not None:
        return e.param.human_readable_name
    return None


# a write that fails for want of room: one line, not a traceback
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and exit status 2 for any tinynas error.

    Output that cannot be written is no traceback either: a full device (``> /dev/full``) is
    one ``error:`` line and exit status 2; a closed pipe (``| head -c1``) ends the command
    quietly with exit status 1, as click does (and as Unix tools stop, by SIGPIPE).
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        try:
            _main(argv, debug)
        finally:
            sys.stdout.flush()  # a write error of buffered output surfaces here, not at exit
    except BrokenPipeError:
        _discard_stdout()
        sys.exit(1)
    except OSError as e:
        if e.errno not in _NO_ROOM or debug:
            raise
        _discard_stdout()
        where = f"'{e.filename}'" if e.filename else "the output"
        click.echo(f"error: cannot write {where}: {e.strerror or e}; free some space on "
                   "that device or write somewhere else", err=True)  # fmt: skip
        sys.exit(2)


def _discard_stdout() -> None:
    """Points stdout at the null device, so that the interpreter's last flush of what is
    still buffered neither fails nor prints 'Exception ignored'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture)
        pass


def _main(argv: list[str] | None, debug: bool) -> None:
    try:
        cli.main(args=argv, prog_name="tinynas", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except _NO_ARGS_IS_HELP as e:  # a bare group: its help, as click prints it
        e.show()
        sys.exit(e.exit_code)
    except click.UsageError as e:
        click.echo(f"error: {usage_error_line(e)}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"error: {_one_line(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except TinyNASError as e:
        if debug:
            raise
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
