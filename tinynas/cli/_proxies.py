"""``tinynas proxies``: list the trainingless metrics, or validate them on the user's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tinynas.cli._options import (
    POSITIVE,
    SEED,
    devices_dir_option,
    executor_options,
    force_option,
    json_option,
)


@click.group()
def proxies() -> None:
    """Trainingless metrics: list them, or validate them on your data."""


@proxies.command("list")
@json_option("Print JSON to stdout.")
def list_cmd(as_json: bool) -> None:
    """Every metric: name, whether it needs data, its cost class, what it computes."""
    from dataclasses import asdict

    from tinynas.metrics import list_metrics

    infos = list_metrics()
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], indent=2))
        return
    from rich import box
    from rich.table import Table

    table = Table(title="tinynas trainingless metrics (scores are predictions, higher = better)",
                  box=box.SIMPLE_HEAD)
    for header in ("name", "needs data", "cost", "description"):
        table.add_column(header, no_wrap=header != "description")
    for info in infos:
        table.add_row(info.name, "yes" if info.needs_data else "no", info.cost,
                      info.description)
    _console().print(table)


def _metric_list(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--metrics a,b --metrics c`` -> ("a", "b", "c")."""
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def _size(value: str | None) -> int | None:
    from tinynas.units import parse_size

    return None if value is None else parse_size(value)


@proxies.command("validate")
@click.option("--dataset", required=True,
              help="fashion-mnist, digits, or a path to .npz / an image folder.")
@click.option("--data-dir", default=None, help="Where to look for the dataset first.")
@click.option("--device", default="nucleo-l4r5zi", show_default=True,
              help="Board whose budget the architectures must fit (tinynas devices).")
@click.option("--samples", default=200, show_default=True, type=click.IntRange(2),
              help="Architectures that fit the board.")
@click.option("--epochs", default=10.0, show_default=True, type=POSITIVE,
              help="Training epochs per architecture (one fixed recipe; the default is the "
                   "search's final training, whose accuracy a ranker must predict).")
@click.option("--metrics", "metric_names", multiple=True,
              help="Metrics to validate, comma-separated (default: every metric).")
@click.option("--train-images", default=None, type=click.IntRange(1),
              help="Seeded subset of the training images each architecture trains on "
                   "(default: all of them, as the final training).")
@click.option("--val-images", default=None, type=click.IntRange(1),
              help="Validation images (default: all 10% held out of the training set).")
@click.option("--repeats", default=30, show_default=True, type=click.IntRange(0),
              help="Architectures trained twice for the noise ceiling.")
@click.option("--archs", default=None, type=click.Path(dir_okay=False),
              help="Validate these architectures (JSON Lines, one tinynas.arch/1 per line) "
                   "instead of --samples seeded ones that fit the board.")
@click.option("--add-archs", default=None, type=click.Path(dir_okay=False),
              help="More architectures (JSON Lines) validated after those; with --resume, a "
                   "kept validation grows by them without training its own again.")
@click.option("--max-flash", default=None, help="Model file limit, e.g. 64KB.")
@click.option("--max-ram", default=None, help="TFLM arena limit, e.g. 64KiB.")
@click.option("--max-latency", default=None, type=POSITIVE, help="Predicted latency limit, ms.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Results folder (default runs/proxies/<dataset>, or under "
                   "$TINYNAS_PROXIES_DIR); search --metric auto reads it there.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--resume", is_flag=True, help="Continue the validation kept in --out.")
@executor_options
@devices_dir_option
@json_option("Print JSON to stdout.")
def validate(dataset: str, data_dir: str | None, device: str, samples: int, epochs: float,
             metric_names: tuple[str, ...], train_images: int, val_images: int | None,
             repeats: int, archs: str | None, add_archs: str | None, max_flash: str | None,
             max_ram: str | None, max_latency: float | None, out: str | None, seed: int,
             resume: bool, workers: int, ray: str | None, gpus_per_job: float,
             devices_dir: Path | None, as_json: bool) -> None:
    """Score N architectures that fit a board with every metric, train each briefly, and
    report each metric's rank correlation with the measured accuracy. The trainings run in
    this process, in --workers local processes, or on Ray (--ray); where they run is not a
    setting of the validation, so a resumed one may train elsewhere."""
    from tinynas.cli._output import check_out_dir
    from tinynas.proxies import ValidationConfig

    if out is not None:
        check_out_dir(out, "--out")  # before hours of training, not after
    config = ValidationConfig(
        dataset=dataset, device=device, samples=samples, epochs=epochs,
        metrics=_metric_list(metric_names), train_images=train_images, val_images=val_images,
        repeats=min(repeats, samples), seed=seed, max_flash_bytes=_size(max_flash),
        max_ram_bytes=_size(max_ram), max_latency_ms=max_latency, data_dir=data_dir,
        architectures=archs, added_architectures=add_archs,
    )  # fmt: skip
    where = {"workers": workers, "ray": ray, "gpus_per_job": gpus_per_job}
    summary = _run(config, out, resume, devices_dir, where, progress=not as_json)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _summary_screen(summary)


@proxies.command("score")
@click.argument("archs", type=click.Path(dir_okay=False))
@click.option("--dataset", required=True,
              help="fashion-mnist, digits, or a path to .npz / an image folder.")
@click.option("--data-dir", default=None, help="Where to look for the dataset first.")
@click.option("--metrics", "metric_names", multiple=True,
              help="Metrics, comma-separated (tinynas proxies list), or auto: the ranker a "
                   "search would use on this dataset. Default: auto.")
@click.option("--device", default="nucleo-l4r5zi", show_default=True,
              help="Board whose budget relu_count_penalized scores against.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the scores as CSV (line, arch_hash, one column per metric).")
@force_option("the --out file")
@devices_dir_option
@json_option("Print JSON to stdout.")
def score(archs: str, dataset: str, data_dir: str | None, metric_names: tuple[str, ...],
          device: str, seed: int, out: str | None, force: bool, devices_dir: Path | None,
          as_json: bool) -> None:
    """Score your own architectures (ARCHS: one tinynas.arch/1 JSON document per line, e.g.
    `tinynas arch sample --json | jq -c .` for each) with trainingless metrics, on a seeded
    batch of the dataset as a search scores. Scores are predictions of trained accuracy,
    higher is better; a metric that cannot score an architecture leaves it empty (CSV: nan,
    JSON: null)."""
    from tinynas.cli._output import check_out_file, refuse_existing, write_output
    from tinynas.devices import get_device
    from tinynas.pipeline import score_file

    if out is not None:
        check_out_file(out, "--out")
        refuse_existing([out], "--out", force)  # before the scoring, not after
    board = get_device(device, devices_dir)
    table = score_file(archs, dataset, _metric_list(metric_names), board, data_dir, seed)
    if out is not None:
        write_output(out, table.csv(), "--out")
    if as_json:
        click.echo(json.dumps(table.to_dict(), indent=2))
        return
    _score_screen(table, out)


def _score_screen(table: Any, out: str | None) -> None:
    from rich import box
    from rich.table import Table

    shown = Table(title=f"{len(table.rows)} architectures of {table.source} on {table.dataset} "
                        "(predicted, higher is better)", box=box.SIMPLE_HEAD)  # fmt: skip
    for header in ("line", "arch_hash", *table.metrics):
        shown.add_column(header, justify="left" if header == "arch_hash" else "right")
    for row in table.rows[:20]:
        shown.add_row(str(row.line), row.arch_hash, *(f"{s:.6g}" for s in row.scores))
    console = _console()
    console.print(shown)
    if len(table.rows) > 20:
        console.print(f"... {len(table.rows) - 20} more" + ("" if out else "; --out FILE "
                                                            "writes them all as CSV"))
    for requested, name in table.resolved.items():
        console.print(f"{requested} = {name} (the ranker a search uses on {table.dataset})")
    for name, failed in table.failed.items():
        if failed:
            console.print(f"{name} could not score {failed} of them (left empty)")
    if out:
        console.print(f"scores written to {out}")


def _console() -> Any:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _run(config: Any, out: str | None, resume: bool, devices_dir: Path | None,
         where: dict[str, Any], progress: bool) -> dict[str, Any]:
    """Runs the validation; `where` holds the executor options (workers, ray, gpus_per_job)."""
    from tinynas.proxies import validate_proxies

    if not progress:
        return validate_proxies(config, out, resume=resume, devices_dir=devices_dir, **where)
    with _LazyBar() as bar:
        return validate_proxies(config, out, resume=resume, progress=bar.update,
                                devices_dir=devices_dir, **where)


class _LazyBar:
    """A rich progress bar that appears at the first update, so that an error found before
    any architecture is evaluated prints without an empty bar above it."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _LazyBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("score and train"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=_console())
            self._bar.start()
            self._task = self._bar.add_task("validate", total=total)
        self._bar.update(self._task, completed=done, total=total)


def _summary_screen(summary: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from tinynas.proxies import TABLE_HEADER, headline, table_rows

    console = _console()
    console.print(headline(summary))
    table = Table(box=box.SIMPLE_HEAD)
    for header in TABLE_HEADER:
        table.add_column(header, justify="left" if header in ("ranker", "cost") else "right")
    for row in table_rows(summary):
        table.add_row(*row)
    console.print(table)
    best = summary["best"]["metric"]
    console.print(f"best validated metric: {best}" if best else
                  "no metric beat the baselines by more than its bootstrap interval")
    auto = summary.get("auto") or {}
    if auto.get("metric"):
        console.print(f"search --metric auto uses {auto['metric']}: {auto['rule']}")
    learned = summary["metrics"].get("learned")
    if learned is not None:
        needed = learned.get("needed")
        console.print(f"learned ranker ({learned['folds']}-fold): "
                      + (f"beat every scored metric with {needed} trained architectures"
                         if needed else "did not beat the best scored metric"))
    console.print(f"files: {', '.join(summary['files'].values())}")
