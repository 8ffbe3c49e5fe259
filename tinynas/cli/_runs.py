"""``tinynas runs``: the search runs under a folder, or one run's Pareto front and chosen model.

Runs are read without taking their lock, so this works while a search is writing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from tinynas.cli._options import json_option
from tinynas.store import (
    CandidateDetails,
    RunDetails,
    RunSummary,
    list_runs,
    resolve_run,
    show_run,
)

_ROOT_OPTION = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that holds the runs (default: runs).",
)
# estimates shown first, in this order; others follow sorted by name
_ESTIMATE_ORDER = ("params", "macs", "flash_bytes", "arena_bytes", "unas_peak_bytes", "latency_ms")
COMPOUND_SHOWN = 5  # bases whose compound constants `runs show` prints


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.2%}"


def _runs_table(summaries: list[RunSummary], root: Path) -> Table:
    table = Table(title=f"runs in '{root}'", box=box.SIMPLE_HEAD)
    for header in ("name", "created (UTC)", "device", "dataset", "status"):
        table.add_column(header, no_wrap=header == "name")
    for header in ("candidates", "evaluated", "trained", "best test acc (measured)"):
        table.add_column(header, justify="right")
    for s in summaries:
        table.add_row(
            s.name, (s.created_at or "-")[:19].replace("T", " "), s.device or "-",
            s.dataset or "-", s.status, str(s.candidates), str(s.evaluated), str(s.trained),
            _percent(s.best_accuracy),
        )  # fmt: skip
    return table


def _keys(dicts: list[dict[str, Any]], first: tuple[str, ...] = ()) -> list[str]:
    present = {k for d in dicts for k in d}
    return [k for k in first if k in present] + sorted(present - set(first))


def _estimate_keys(estimates: list[dict[str, Any]]) -> list[str]:
    """The numeric estimates, in display order: where a latency came from and the provenance
    map are not numbers to tabulate."""
    return [k for k in _keys(estimates, _ESTIMATE_ORDER)
            if all(isinstance(e.get(k), (int, float, type(None))) for e in estimates)]


def _front_table(run: RunDetails) -> Table:
    """The front: estimates (estimated), scores (trainingless), accuracies (measured on host)."""
    cands = [d.candidate for d in run.front]
    estimates = _estimate_keys([c.estimates for c in cands])
    scores = _keys([c.scores for c in cands])
    table = Table(
        title=f"Pareto front of run '{run.summary.name}' ({len(run.front)} candidates)",
        caption="est. = estimated from the architecture; pred. = predicted by the board's "
        "latency model; score = trainingless metric at "
        "initialisation; accuracies measured on the host, last training",
        box=box.SIMPLE_HEAD,
    )
    for header in ("id", "hash", "status"):
        table.add_column(header)
    for header in ([f"{k} ({'pred.' if k == 'latency_ms' else 'est.'})" for k in estimates]
                   + [f"{k} (score)" for k in scores]):
        table.add_column(header, justify="right")
    for header in ("val acc", "test acc", "int8 acc"):
        table.add_column(header, justify="right")
    for d in run.front:
        table.add_row(*_front_row(d, estimates, scores))
    return table


def _front_row(d: CandidateDetails, estimates: list[str], scores: list[str]) -> list[str]:
    c, t = d.candidate, d.last_training
    accuracies = [None, None, None] if t is None else [
        t.val_accuracy, t.test_accuracy, t.int8_accuracy]  # fmt: skip
    return [
        str(c.id), c.hash, c.status.value,
        *(_number(c.estimates.get(k)) for k in estimates),
        *(_number(c.scores.get(k)) for k in scores),
        *(_percent(a) for a in accuracies),
    ]  # fmt: skip


def _config_table(run: RunDetails) -> Table:
    table = Table(title=f"run '{run.summary.name}': {run.summary.status}", show_header=False,
                  title_justify="left", box=box.SIMPLE)  # fmt: skip
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in run.meta.get("config", {}).items():
        table.add_row(key, json.dumps(value))
    for key in ("created_at", "finished_at", "tinynas_version"):
        if key in run.meta:
            table.add_row(key, str(run.meta[key]))
    fitted = (run.meta.get("strategy") or {}).get("compound") or []
    if fitted:  # --strategy compound: the (a, b, g) fitted for each base, in scaling order
        shown = [f"{c['resource']}: ({c['depth']:g}, {c['width']:g}, {c['resolution']:g})"
                 for c in fitted[:COMPOUND_SHOWN]]
        more = len(fitted) - len(shown)
        table.add_row(f"compound (a, b, g), {len(fitted)} base(s)",
                      "; ".join(shown) + (f"; {more} more (--json lists all)" if more else ""))
    return table


def _chosen_table(d: CandidateDetails) -> Table:
    c = d.candidate
    table = Table(title=f"chosen model: candidate {c.id} ({c.hash})", show_header=False,
                  title_justify="left", box=box.SIMPLE)  # fmt: skip
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", c.status.value)
    for key in _estimate_keys([c.estimates]):
        kind = "predicted" if key == "latency_ms" else "estimated"
        table.add_row(f"{key} ({kind})", _number(c.estimates[key]))
    for key in _keys([c.scores]):
        table.add_row(f"{key} (trainingless score)", _number(c.scores[key]))
    for t in d.trainings:
        accs = f"val {_percent(t.val_accuracy)}, test {_percent(t.test_accuracy)}, " \
            f"int8 {_percent(t.int8_accuracy)}"  # fmt: skip
        table.add_row(f"training '{t.stage}'", f"{accs} (measured on host); {t.epochs} epochs, "
                      f"seed {t.seed}, {t.train_seconds:.1f} s on {t.device}")  # fmt: skip
    for m in d.measurements:
        table.add_row(f"{m.kind} ({m.provenance.value})", json.dumps(m.value))
    return table


def _print_run(run: RunDetails) -> None:
    console = _console()
    console.print(_config_table(run))
    if run.front:
        console.print(_front_table(run))
    else:
        console.print("no Pareto front stored yet")
    if run.chosen is not None:
        console.print(_chosen_table(run.chosen))
    else:
        console.print("no model chosen yet")
    if run.files:
        console.print(f"files in {run.summary.path}: {', '.join(run.files)}")


@click.group(invoke_without_command=True)
@_ROOT_OPTION
@json_option("Print JSON to stdout.")
@click.pass_context
def runs(ctx: click.Context, root: Path | None, as_json: bool) -> None:
    """List the search runs under --root, or show one (tinynas runs show RUN)."""
    ctx.ensure_object(dict)
    ctx.obj["runs_root"] = root
    if ctx.invoked_subcommand is not None:
        return
    root = root or Path("runs")
    summaries = list_runs(root)
    if as_json:
        _echo_json([s.to_dict() for s in summaries])
        return
    _console().print(_runs_table(summaries, root) if summaries else f"no runs in '{root}'")
    for s in summaries:
        if s.error:
            click.echo(f"{s.name}: {s.error}")


@runs.command("show")
@click.argument("run")
@_ROOT_OPTION
@json_option("Print JSON to stdout.")
@click.pass_context
def show(ctx: click.Context, run: str, root: Path | None, as_json: bool) -> None:
    """Show run RUN (a name under --root, or a run folder): config, Pareto front, chosen model."""
    details = show_run(resolve_run(run, root or ctx.obj.get("runs_root") or Path("runs")))
    if as_json:
        _echo_json(details.to_dict())
    else:
        _print_run(details)
