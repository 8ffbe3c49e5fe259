"""`tinynas search`: the main job, from a board and a dataset to a verified int8 model."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tinynas.cli._options import (
    POSITIVE,
    SEED,
    devices_dir_option,
    executor_options,
    json_option,
)
from tinynas.cli._output import check_out_dir

if TYPE_CHECKING:
    from tinynas.pipeline import SearchConfig, SearchSummary


DEFAULT_TIME_BUDGET = "30m"  # tinynas search as typed: Fashion-MNIST >= 91% int8 (benchmarks)


def _default_out(device: str) -> Path:
    return Path("runs") / f"{device}-{time.strftime('%Y%m%d-%H%M%S')}"


def _summary_screen(s: SearchSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    from tinynas.units import format_latency, format_seconds

    table = Table(title=f"tinynas search: {s.run}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("board", f"{s.device}  ({s.budget_text})")
    table.add_row("search", f"{s.dataset}, {s.strategy} strategy, metric {s.metric}; "
                            f"{s.evaluated:,} candidates ({s.rejected:,} over budget), "
                            f"{s.trained} trained, {format_seconds(s.seconds)} on "
                            f"{s.train_device}")
    table.add_row("trainings", f"successive halving: {s.executor}")
    if s.plan is not None:
        table.add_row("plan", _plan_text(s))
    table.add_row("architecture", f"{s.hash}  ({_layers(s.architecture)})")
    int8 = "n/a" if s.int8_accuracy is None else f"{s.int8_accuracy:.2%}"
    table.add_row("accuracy", f"float {s.float_accuracy:.2%}, int8 {int8} "
                              "(test split, measured)")
    if s.teacher is not None:
        t = s.teacher
        table.add_row("teacher", f"distilled from a {t.params:,}-parameter CNN trained "
                                 f"{t.epochs:g} epochs: float {t.test_accuracy:.2%} "
                                 "(test split, measured)")
    table.add_row("flash", f"{s.flash_bytes:,} B .tflite (estimated "
                           f"{s.flash_estimated_bytes:,} B)")
    table.add_row("RAM", s.ram_text())
    table.add_row("latency", f"{format_latency(s.latency_ms)} on {s.device} (predicted)")
    table.add_row("files", f"{s.out}/: model.tflite, model_data.cc/.h, model_card.json, "
                           "architecture.json, report.md, pareto.png")
    Console().print(table)


def _plan_text(s: SearchSummary) -> str:
    """The plan's settings, the winner's epochs, and each stage's measured time."""
    from tinynas.units import format_duration

    plan = s.plan or {}
    settings = plan["settings"]
    budget = plan.get("budget_s")
    head = "no time budget" if budget is None else f"time budget {format_duration(budget)}"
    epochs = plan.get("final_epochs", settings["epochs"])
    winner = f"winner {epochs:g} epochs"
    if epochs != settings["epochs"]:
        winner += f" (planned {settings['epochs']:g}; the time left allowed {epochs:g})"
    stages = ", ".join(f"{k} {format_duration(v)}" for k, v in s.stage_seconds.items())
    return (f"{head}: shortlist {settings['shortlist']} ({settings['capacity_picks']} capacity "
            f"picks), first rung {settings['halving_epochs']:g} epochs, {winner}"
            f"{', distilled' if settings['distill'] else ''}; measured: {stages}")


def _layers(arch: dict[str, Any]) -> str:
    layers = sum(len(b["layers"]) for b in arch["blocks"])
    return f"{len(arch['blocks'])} blocks, {layers} conv layers, {len(arch['dense'])} hidden dense"


def _size(value: str | None) -> int | None:
    from tinynas.units import parse_size

    return None if value is None else parse_size(value)


@click.command()
@click.option("--device", required=True, help="Board name or alias (tinynas devices).")
@click.option("--dataset", default="fashion-mnist", show_default=True,
              help="fashion-mnist, digits, or a path to .npz / an image folder.")
@click.option("--data-dir", default=None, help="Where Fashion-MNIST's idx files are.")
@click.option("--strategy", default="evolution", show_default=True,
              type=click.Choice(["random", "evolution", "bayes", "grid", "compound", "rl",
                                 "ofa-evolution"]))
@click.option("--base", default=None, type=click.Path(dir_okay=False),
              help="An architecture JSON for --strategy compound to scale (default: the best "
                   "of a short exploration).")
@click.option("--metric", default="auto", show_default=True,
              help="Trainingless metric, or auto: the best validated on this dataset.")
@click.option("--time-budget", default=DEFAULT_TIME_BUDGET, show_default=True,
              help="Wall-clock bound of the whole run, e.g. 45m or 2h: the stages the options "
                   "below leave open are planned to fit it from epoch costs measured on this "
                   "machine. 'none': no plan.")
@click.option("--candidates", default=None, type=click.IntRange(1),
              help="Candidates to evaluate [default: planned; 1000 with --time-budget none].")
@click.option("--max-flash", default=None,
              help="Model file limit, e.g. 64KB (tighter than the board).")
@click.option("--max-ram", default=None, help="TFLM arena limit, e.g. 64KiB.")
@click.option("--max-latency", default=None, type=POSITIVE, help="Predicted latency limit, ms.")
@click.option("--max-unas-peak", default=None, help="μNAS peak-activation limit, e.g. 12.6KB.")
@click.option("--max-unas-size", default=None,
              help="μNAS model-size limit (one byte per parameter), e.g. 64KB.")
@click.option("--shortlist", default=None, type=click.IntRange(1),
              help="Candidates trained by successive halving [default: 8].")
@click.option("--capacity-picks", default=None, type=click.IntRange(0),
              help="Shortlist slots for the regular networks that use most of the budget "
                   "[default: planned, 3 of 8; 0 with --time-budget none].")
@click.option("--halving-epochs", default=None, type=POSITIVE,
              help="Epochs of the first successive-halving rung [default: planned; 1.0 with "
                   "--time-budget none].")
@click.option("--epochs", default=None, type=POSITIVE,
              help="Epochs of the winner's full training [default: planned; 10.0 with "
                   "--time-budget none].")
@click.option("--distill/--no-distill", default=None,
              help="Train a large teacher network (not bound by the board) and distill it into "
                   "the winner's full training [default: planned; no with --time-budget "
                   "none].")
@click.option("--train-subset", default=None, type=click.IntRange(100),
              help="Train on at most this many images (quick runs).")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--resume", is_flag=True, help="Continue the run in --out.")
@click.option("--refine", type=click.Choice(["rarts", "darts1", "pdarts"]), default=None,
              help="Then refine the winner's widths under the budget (tinynas refine).")
@executor_options
@devices_dir_option
@json_option("Print the summary as JSON only.")
def search(device: str, dataset: str, data_dir: str | None, strategy: str, base: str | None,
           metric: str,
           time_budget: str, candidates: int | None, max_flash: str | None,
           max_ram: str | None, max_latency: float | None, max_unas_peak: str | None,
           max_unas_size: str | None,
           shortlist: int | None, capacity_picks: int | None, halving_epochs: float | None,
           epochs: float | None, distill: bool | None, train_subset: int | None,
           out: str | None, seed: int, resume: bool,
           refine: str | None, workers: int, ray: str | None, gpus_per_job: float,
           devices_dir: Path | None, as_json: bool) -> None:
    """Search for a network that fits a board, train it, and deliver it as int8 TFLite.
    Several boards (--device A,B,C): one supernet is trained, then each board gets the best
    of its sub-networks that fits, fine-tuned (--epochs, default 2) from the inherited
    weights; --candidates per board (default 300); --time-budget is for one board."""
    from tinynas.devices import get_device
    from tinynas.pipeline import SearchConfig, run_search
    from tinynas.units import parse_duration

    if "," in device:
        unused = {"--base": base, "--shortlist": shortlist, "--capacity-picks": capacity_picks,
                  "--halving-epochs": halving_epochs, "--distill": distill, "--refine": refine,
                  "--max-unas-peak": max_unas_peak, "--max-unas-size": max_unas_size,
                  "--metric": None if metric == "auto" else metric, "--ray": ray}
        given = [name for name, value in unused.items() if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} do not apply to a search for several "
                                   "boards (one supernet, its sub-networks ranked by their "
                                   "inherited accuracy)")
        _boards(device, dataset, data_dir, strategy, candidates, epochs, max_flash, max_ram,
                max_latency, train_subset, out, seed, resume, devices_dir, as_json)
        return
    board = get_device(device, devices_dir)
    if resume and out is None:
        raise click.UsageError("--resume needs --out RUN_FOLDER")
    if out is not None:
        check_out_dir(out, "--out")  # before the dataset is loaded
    config = SearchConfig(
        device=board.name, out=Path(out) if out else _default_out(board.name),
        dataset=dataset, data_dir=data_dir, strategy=strategy, base=base, metric=metric,
        candidates=candidates,
        time_budget_s=None if time_budget.lower() == "none" else parse_duration(time_budget),
        max_flash_bytes=_size(max_flash), max_ram_bytes=_size(max_ram),
        max_latency_ms=max_latency, max_unas_peak_bytes=_size(max_unas_peak),
        max_unas_size_bytes=_size(max_unas_size),
        shortlist=shortlist, capacity_picks=capacity_picks, halving_epochs=halving_epochs,
        epochs=epochs, train_subset=train_subset, distill=distill, seed=seed,
        workers=workers, ray=ray, gpus_per_job=gpus_per_job,
    )
    if as_json:
        summary = run_search(config, resume, None, devices_dir)
        printed = summary.to_dict()
        if refine:
            printed["refined"] = _refine(config, summary, refine, devices_dir)
        click.echo(json.dumps(printed, indent=2))
        return
    summary = _with_progress(config, resume, devices_dir)
    _summary_screen(summary)
    if refine:
        refined = _refine(config, summary, refine, devices_dir)
        click.echo(f"refined with {refine}: widths {refined['widths']}, test accuracy float "
                   f"{refined['test_accuracy']:.2%}, files in {refined['out']}/")


def _boards(devices: str, dataset: str, data_dir: str | None, strategy: str,
            candidates: int | None, epochs: float | None, max_flash: str | None,
            max_ram: str | None, max_latency: float | None, train_subset: int | None,
            out: str | None, seed: int, resume: bool, devices_dir: Path | None,
            as_json: bool) -> None:
    """`search --device A,B,C`: one supernet for every board (tinynas.pipeline.run_boards)."""
    from rich.console import Console
    from rich.markdown import Markdown

    from tinynas.devices import get_device
    from tinynas.pipeline import DEFAULT_BOARD_CANDIDATES, BoardsConfig, run_boards

    names = tuple(get_device(d.strip(), devices_dir).name for d in devices.split(","))
    if resume and out is None:
        raise click.UsageError("--resume needs --out RUN_FOLDER")
    if out is not None:
        check_out_dir(out, "--out")
    config = BoardsConfig(
        devices=names, out=Path(out) if out else _default_out("boards"), dataset=dataset,
        data_dir=data_dir, strategy="ofa-evolution" if strategy == "evolution" else strategy,
        candidates=candidates or DEFAULT_BOARD_CANDIDATES,
        finetune_epochs=epochs if epochs is not None else 2.0,
        max_flash_bytes=_size(max_flash), max_ram_bytes=_size(max_ram),
        max_latency_ms=max_latency, train_subset=train_subset, seed=seed)
    if as_json:
        summary = run_boards(config, resume, None, devices_dir)
    else:
        summary = _boards_with_progress(config, resume, devices_dir)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    from tinynas.units import format_seconds

    console = Console()
    console.print(Markdown(summary.table()))
    console.print(f"supernet {format_seconds(summary.supernet['train_s'])} of training, once; "
                  f"total {format_seconds(summary.total_s)}; accuracies on the test split "
                  f"(measured), latency predicted; files in {config.out}/<board>/")


def _boards_with_progress(config: Any, resume: bool, devices_dir: Path | None) -> Any:
    """`run_boards` with a bar for the supernet's epochs and one per board's search."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tinynas.pipeline import run_boards

    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bars:
        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                label = ("supernet: progressive shrinking (epochs)" if stage == "supernet"
                         else f"{stage}: estimate, reject, inherited accuracy")
                tasks[stage] = bars.add_task(label, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        return run_boards(config, resume, update, devices_dir)


def _refine(config: SearchConfig, summary: SearchSummary, method: str,
            devices_dir: Path | None) -> dict[str, Any]:
    """Refines the run's winner and retrains it for as many epochs as the winner had."""
    from tinynas.refine import RefineConfig, refine_run

    epochs = (summary.plan or {}).get("settings", {}).get("epochs") or config.epochs or 10.0
    return refine_run(config.out, RefineConfig(method=method, seed=config.seed),
                      retrain_epochs=epochs, devices_dir=devices_dir)


def _with_progress(config: SearchConfig, resume: bool,
                   devices_dir: Path | None) -> SearchSummary:
    """`run_search` with a progress bar per stage; the bars appear with the first result, so
    bad input, refused before any stage starts, prints nothing but its error line."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tinynas.pipeline import run_search

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    where = ("on Ray" if config.ray is not None else
             f"on {config.workers} local workers" if config.workers else "in this process")
    labels = {"explore": "explore: estimate, reject, score",
              "train": f"successive halving ({where})",
              "final": "train the winner, convert, verify"}
    tasks: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        bars: list[Progress] = []

        def show_plan(lines: list[str]) -> None:
            if "distilled" in "".join(lines):
                labels["final"] = "train the teacher and the winner, convert, verify"
            for line in lines:
                if bars:
                    bars[0].console.print(line, highlight=False, markup=False)
                else:
                    click.echo(line)

        def update(stage: str, done: int, total: int | None) -> None:
            if not bars:
                bars.append(stack.enter_context(Progress(*columns, transient=False)))
            if stage not in tasks:
                tasks[stage] = bars[0].add_task(labels[stage], total=total)
            bars[0].update(tasks[stage], completed=done, total=total)

        return run_search(config, resume, update, devices_dir, on_plan=show_plan)
