"""The ``tinynas`` command line: each command parses, calls one library function, formats.

Commands live in their own modules and are imported only when invoked, so ``tinynas --help``
never imports TensorFlow or torch.
"""

from __future__ import annotations

import importlib
import sys

import click

from tinynas import __version__
from tinynas.errors import TinyNASError

# command name -> "module:attribute" of its click command
_COMMANDS = {
    "devices": "tinynas.cli._devices:devices",
    "arch": "tinynas.cli._arch:arch",
    "inspect": "tinynas.cli._inspect:inspect_cmd",
}

_HELP = {
    "devices": "List the board catalogue, or show one board.",
    "arch": "Sample, validate and estimate architectures of the search space.",
    "inspect": "Ops, params, MACs, flash and the measured TFLM arena of an int8 .tflite.",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="tinynas")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tinynas: find small neural networks that fit a microcontroller, and prove that they do."""
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and exit status 2 for any tinynas error."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="tinynas", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
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
