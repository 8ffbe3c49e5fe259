"""`tinynas arch`: sample, show and convert architectures of the search space."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import click

from tinynas.cli._options import SEED, devices_dir_option, force_option, json_option
from tinynas.cli._output import check_out_file, refuse_existing, write_output
from tinynas.errors import SearchSpaceError, TinyNASError
from tinynas.space import MAX_CLASSES


def parse_shape(text: str) -> tuple[int, ...]:
    """'28x28x1', '28,28,1' or '640' -> a shape tuple."""
    parts = [p for p in re.split(r"[x,\s]+", text.strip()) if p]
    # ASCII digits only ('²' is a digit to str.isdigit), and few of them: a size of more than
    # 9 digits is far past MAX_INPUT_ELEMENTS, and int() refuses more than 4,300
    if not parts or len(parts) > 3 or not all(re.fullmatch(r"0*[1-9][0-9]{0,8}", p)
                                               for p in parts):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise SearchSpaceError(f"input shape {shown!r} must be HxWxC, LxC or L (positive "
                               "integers of at most 9 digits)")
    return tuple(int(p) for p in parts)


def load_arch(path: str) -> Any:
    from tinynas.space import read_architecture

    return read_architecture(path)


def _device(name: str | None, devices_dir: Path | None) -> Any:
    if name is None:
        return None
    from tinynas.devices import get_device

    return get_device(name, devices_dir)


def _fit_rows(est: Any, device: Any) -> list[tuple[str, int, int]]:
    return [
        ("flash", est.flash_bytes, device.flash_budget_bytes),
        ("ram", est.arena_bytes, device.ram_budget_bytes),
    ]


def _print_estimate(arch: Any, est: Any, device: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from tinynas.space import lower

    console = Console()
    table = Table(title=f"architecture {arch.content_hash}  input {list(arch.input_shape)}  "
                        f"classes {arch.num_classes}")
    for col in ("op", "name", "output", "kernel", "stride", "bn", "relu"):
        table.add_column(col)
    for node in lower(arch)[1:]:
        conv = node.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D")
        table.add_row(node.op, node.name, "x".join(map(str, node.shape)),
                      "x".join(map(str, node.kernel)) if conv else "",
                      "x".join(map(str, node.stride)) if conv else "",
                      "yes" if node.batch_norm else "", "yes" if node.relu else "")
    console.print(table)
    console.print(f"params {est.params:,}   MACs {est.macs:,}   (estimated)")
    from tinynas.estimators import ARENA_X86

    x86 = "" if est.arena_source == ARENA_X86 or est.arena_x86_bytes is None \
        else f" (x86 build {est.arena_x86_bytes:,} B)"
    console.print(f"flash {est.flash_bytes:,} B (.tflite, estimated)   TFLM arena "
                  f"{est.arena_bytes:,} B, {est.arena_source}{x86}   μNAS peak "
                  f"{est.unas_peak_bytes:,} B")
    if device is not None:
        console.print(f"latency on {device.name}: {est.latency_ms:.2f} ms (predicted; "
                      f"{est.latency_source})")
        for what, need, budget in _fit_rows(est, device):
            verdict = "[green]fits[/]" if need <= budget else "[red]over budget[/]"
            console.print(f"{what}: {need:,} B of {budget:,} B budget  {verdict}")


@click.group()
def arch() -> None:
    """Sample, show and convert architectures of the μNAS-style search space."""


@arch.command("sample")
@click.option("--input-shape", "input_shape", default="28x28x1", show_default=True,
              help="HxWxC, LxC or L.")
@click.option("--classes", default=10, show_default=True,
              type=click.IntRange(2, MAX_CLASSES))  # validation's cap
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--device", default=None, help="Sample until the architecture fits this board.")
@devices_dir_option
@click.option("--max-tries", default=10_000, show_default=True, type=click.IntRange(1))
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write the JSON here.")
@force_option("the --out file")
@json_option("Print JSON only.")
def sample_cmd(input_shape: str, classes: int, seed: int, device: str | None,
               devices_dir: Path | None, max_tries: int, out: str | None, force: bool,
               as_json: bool) -> None:
    """A seeded random architecture (that fits --device when given)."""
    from tinynas.estimators import estimate
    from tinynas.space import sample

    shape = parse_shape(input_shape)
    if out:
        check_out_file(out, "--out")
        refuse_existing([out], "--out", force)
    board = _device(device, devices_dir)
    rng = random.Random(seed)
    for _ in range(max_tries):
        candidate = sample(shape, classes, rng)
        est = estimate(candidate, board)
        if board is None or all(need <= budget for _, need, budget in _fit_rows(est, board)):
            break
    else:
        raise TinyNASError(f"no sampled architecture fit {board.name} in {max_tries} tries; "
                           "raise --max-tries or choose a larger board")
    if out:
        write_output(out, candidate.to_json() + "\n", "--out")
    if as_json:
        click.echo(json.dumps({"architecture": candidate.to_dict(), "hash": candidate.content_hash,
                               "estimate": est.to_dict()}, indent=2))
    else:
        _print_estimate(candidate, est, board)


@arch.command("show")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--device", default=None, help="Also predict latency and check the fit.")
@devices_dir_option
@json_option("Print JSON only.")
def show_cmd(path: str, device: str | None, devices_dir: Path | None, as_json: bool) -> None:
    """Validate an architecture JSON and show its layers and estimates."""
    from tinynas.estimators import estimate

    candidate = load_arch(path)
    board = _device(device, devices_dir)
    est = estimate(candidate, board)
    if as_json:
        click.echo(json.dumps({"hash": candidate.content_hash, "estimate": est.to_dict()},
                              indent=2))
    else:
        _print_estimate(candidate, est, board)


@arch.command("convert")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The .tflite to write.")
@click.option("--seed", default=0, show_default=True, type=SEED,
              help="Seed of the random weights.")
@force_option("the --out file")
@json_option("Print JSON only.")
def convert_cmd(path: str, out: str, seed: int, force: bool, as_json: bool) -> None:
    """Convert an architecture (random weights) to int8 TFLite and check it in TFLM."""
    candidate = load_arch(path)  # bad input first, before torch and TensorFlow load
    check_out_file(out, "--out")
    refuse_existing([out], "--out", force)

    import numpy as np
    import torch

    from tinynas.convert import convert_architecture
    from tinynas.estimators import estimate
    from tinynas.space.torch_builder import build_torch

    torch.manual_seed(seed)
    samples = np.random.default_rng(seed).random((32, *candidate.input_shape), np.float32)
    result = convert_architecture(candidate, samples, build_torch(candidate))
    write_output(out, result.tflite, "--out")
    est = estimate(candidate)
    report = {
        "tflite": out,
        "flash_bytes": {"measured": result.flash_bytes, "estimated": est.flash_bytes},
        "arena_bytes": {"measured_tflm": result.arena.total_bytes, "estimated": est.arena_bytes},
        "tflm_vs_litert_max_diff_lsb": result.max_output_diff_lsb,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"wrote {out}")
    click.echo(f"flash: {result.flash_bytes:,} B (file)  estimated {est.flash_bytes:,} B")
    click.echo(f"TFLM arena: {result.arena.total_bytes:,} B (measured in TFLM)  "
               f"estimated {est.arena_bytes:,} B")
    click.echo(f"TFLM vs LiteRT reference kernels: max difference "
               f"{result.max_output_diff_lsb} LSB on {len(result.tflm_outputs)} inputs")
