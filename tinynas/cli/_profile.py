"""``tinynas profile``: a model's latency, per-op cycles, arena and output check on a board."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tinynas.cli._options import BAUD, CANDIDATE_ID, FiniteFloat, devices_dir_option, json_option
from tinynas.profile import Timeouts

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tinynas.profile import ProfileResult

_MAX_RUNS = 10_000  # timed runs, and warm-up runs (profilers/PROTOCOL.md, infer N W)


def console() -> Console:
    """A console that does not squeeze tables to 80 columns when stdout is not a terminal."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=max(out.width, 140))


def _summary(result: ProfileResult) -> Table:
    from rich import box
    from rich.table import Table

    b, src = result.board, result.source
    table = Table(title=f"{result.model_path} on {b.board} ({src})", title_justify="left",
                  box=box.SIMPLE)  # fmt: skip
    for header in ("field", "value", "source"):
        table.add_column(header, style="bold" if header == "field" else None)
    timed = f"{src}, {result.runs} runs after {result.warmup} warm-up"
    if result.counts_instructions:  # a count at a nominal clock, not a time
        per_ms = b.clock_hz / 1000.0
        head = [("instructions (median)", f"{result.latency_ms * per_ms:,.0f}", src),
                ("instructions min / max", f"{result.min_latency_ms * per_ms:,.0f} / "
                 f"{result.max_latency_ms * per_ms:,.0f}", timed)]  # fmt: skip
    else:
        head = [("latency (median)", f"{result.latency_ms:,.3f} ms", src),
                ("latency min / max", f"{result.min_latency_ms:,.3f} / "
                 f"{result.max_latency_ms:,.3f} ms", timed)]  # fmt: skip
    rows = [
        *head,
        ("arena", (f"{result.arena.used_bytes:,} B of {result.arena.available_bytes:,} B free "
                   f"next to the model ({result.arena.model_in})"), "reported by the board"),
        ("output", _output_text(result), "board CRC32 vs TFLM on this machine"),
        ("input", result.input, "PROTOCOL.md section 4"),
        ("board", f"{b.board}: {b.core} " + ("(counts instructions)" if result.counts_instructions
                                              else f"at {b.clock_hz / 1e6:g} MHz")
         + f", {b.runtime}, {b.kernels}", "info%"),
        ("upload", (f"{result.model_bytes:,} B in {result.upload.seconds:.2f} s "
                    f"({result.upload.bytes_per_s / 1024:,.1f} KiB/s, "
                    f"{result.upload.retries} retries)"), "measured on this machine"),
    ]  # fmt: skip
    if result.counts_instructions:
        rows.append(("counts", str(b.latency_source), "info%"))
    elif b.emulated:
        rows.append(("cycles from", str(b.latency_source), "the device's latency model"))
    for row in rows:
        table.add_row(*row)
    return table


def _output_text(result: ProfileResult) -> str:
    if result.output_matches:
        return f"matches host TFLM (crc32 {result.output_crc32})"
    return f"DIFFERS: board crc32 {result.output_crc32}, host {result.host_output_crc32}"


def _ops_table(result: ProfileResult) -> Table:
    from rich import box
    from rich.table import Table

    unit = result.board.counts  # "cycles" or "instructions"
    table = Table(title=f"per-op {unit} (median over {result.runs} runs, {result.source})",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    headers = [("#", "right"), ("op", "left"), (unit, "right"), ("ms", "right"),
               ("share", "right")]  # fmt: skip
    if result.counts_instructions:
        del headers[3]  # instructions are not a time
    for header, justify in headers:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    total = sum(op.cycles for op in result.ops) or 1.0
    for op in result.ops:
        cells = [str(op.index), op.op, f"{op.cycles:,.0f}", f"{op.latency_ms:,.3f}",
                 f"{100 * op.cycles / total:.1f} %"]  # fmt: skip
        if result.counts_instructions:
            del cells[3]
        table.add_row(*cells)
    return table


@click.command("profile")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--port", default=None, help="Serial port, pty path or socket://HOST:PORT URL.")
@click.option("--emulate", "emulate", default=None, metavar="DEVICE",
              help="Start an emulated DEVICE in this process instead (latency emulated).")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(1, _MAX_RUNS),
              help="Timed runs.")
@click.option("--warmup", default=1, show_default=True, type=click.IntRange(0, _MAX_RUNS),
              help="Untimed runs first.")
@click.option("--input", "input_kind", type=click.Choice(["random", "zeros"]), default="random",
              show_default=True, help="Input tensor: the protocol's seeded generator, or zeros.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(1, 2**32 - 1),
              help="Seed of the protocol's input generator.")
@click.option("--baud", type=BAUD, default=None,
              help="Line rate (default: the board's, or 115200).")
@devices_dir_option
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record the result in this search run's store.")
@click.option("--candidate", "candidate_id", type=CANDIDATE_ID, default=None,
              help="With --run: the candidate MODEL is (default: the run's chosen model).")
@click.option("--reply-timeout", "reply_s", type=FiniteFloat(0, 3600, min_open=True),
              default=Timeouts.reply_s, show_default=True, metavar="SECONDS",
              help="Longest wait for each reply line of a command.")
@click.option("--infer-timeout", "infer_line_s", type=FiniteFloat(0, 86400, min_open=True),
              default=Timeouts.infer_line_s, show_default=True, metavar="SECONDS",
              help="Longest wait for each line while the board runs inferences (raise it for "
                   "a model slower than this per run).")
@json_option()
def profile(model: Path, port: str | None, emulate: str | None, runs: int, warmup: int,
            input_kind: str, seed: int, baud: int | None, devices_dir: Path | None,
            run_dir: Path | None, candidate_id: int | None, reply_s: float,
            infer_line_s: float, as_json: bool) -> None:  # fmt: skip
    """Measure MODEL.tflite on a board (--port) or an emulated board (--emulate).

    Uploads the model, runs it, checks the board's output against TFLM on this machine, and
    reports median/min/max latency, per-op cycles and the arena. Exit status 1 when the outputs
    differ.
    """
    import json

    from tinynas.profile import profile_model

    result = profile_model(model, port=port, emulate=emulate, runs=runs, warmup=warmup,
                           input_seed=seed if input_kind == "random" else None, baud=baud,
                           devices_dir=devices_dir,
                           timeouts=Timeouts(reply_s=reply_s, infer_line_s=infer_line_s))
    if run_dir is not None:
        _record(run_dir, candidate_id, result)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console().print(_summary(result), _ops_table(result))
    if not result.output_matches:
        click.echo(f"error: the board's output differs from TFLM on this machine "
                   f"(crc32 {result.output_crc32} vs {result.host_output_crc32})", err=True)
        sys.exit(1)


def _record(run_dir: Path, candidate_id: int | None, result: ProfileResult) -> None:
    """Stores the latency of a run's candidate, labelled emulated or measured."""
    from tinynas.errors import StoreError
    from tinynas.store import RunStore

    with RunStore.open(run_dir) as store:
        record = store.candidate(candidate_id) if candidate_id is not None else store.chosen()
        if record is None:
            raise StoreError(f"{run_dir} has no chosen model; pass --candidate ID")
        store.add_measurement(record.id, "latency", result.to_dict(),
                              "emulated" if result.board.emulated else "measured")
