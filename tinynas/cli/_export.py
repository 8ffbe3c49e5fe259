"""``tinynas export``: model.tflite, model_data.cc/.h and model_card.json of a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tinynas.cli._options import FRACTION, devices_dir_option, force_option, json_option

if TYPE_CHECKING:
    from tinynas.export import ExportResult


def _check_source(
    run: Path | None, candidate: str | None, arch_path: Path | None, weights_path: Path | None
) -> None:
    """Exactly one of RUN and --arch + --weights (checked before anything is loaded)."""
    from tinynas.export import ExportError

    if run is not None and (arch_path is not None or weights_path is not None):
        raise ExportError("give either a RUN folder or --arch and --weights, not both")
    if run is None and candidate is not None:
        raise ExportError("--candidate needs a RUN folder")
    if run is None and (arch_path is None or weights_path is None):
        raise ExportError(
            "nothing to export: give a RUN folder, or --arch ARCH.json and --weights WEIGHTS.pt "
            "(a torch.save-d state_dict of the architecture's TorchNet)"
        )


def _source(
    run: Path | None, candidate: str | None, arch_path: Path | None, weights_path: Path | None
) -> tuple[Any, Any]:
    """(architecture, torch net) from a run folder or from --arch and --weights."""
    from tinynas.export import load_run, load_weights

    if run is not None:
        return load_run(run, candidate)
    assert arch_path is not None and weights_path is not None  # see _check_source
    return load_weights(arch_path, weights_path)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _cortex_m(card: dict[str, Any]) -> str:
    arena = card.get("tflm_arena_cortex_m_bytes")
    return "" if arena is None else f", {arena:,} B (estimated, Cortex-M CMSIS-NN)"


def _summary_lines(result: ExportResult) -> list[str]:
    card, v = result.card, result.verification
    acc = card["accuracy"]
    lines = [
        f"exported {card['name']} to {result.out_dir}/",
        f"  model.tflite      {card['flash_bytes']:,} B (measured), TFLM arena "
        f"{card['tflm_arena_bytes']:,} B (measured, x86 build)" + _cortex_m(card),
        f"  model_data.cc/.h  {result.c_array.data_symbol}[], {result.c_array.length_symbol} "
        "(16-byte aligned)",
        f"  model_card.json   input scale {card['input']['scale']:.6g}, zero point "
        f"{card['input']['zero_point']}",
        f"  verification      TFLM vs LiteRT reference kernels on {v.samples} {v.inputs_source}: "
        f"max {v.max_diff_lsb} LSB ({v.differing_outputs} of {v.output_elements} outputs differ)",
        f"  accuracy          float {_percent(acc['float'])}, int8 {_percent(acc['int8'])} "
        f"(TFLM); int8/float argmax agreement {_percent(acc['int8_float_argmax_agreement'])}",
    ]
    if card["quantization_note"]:
        lines.append(f"  note              {card['quantization_note']}")
    return lines


@click.command("export")
@click.argument("run", required=False, type=click.Path(path_type=Path))
@click.option("--candidate", default=None,
              help="A candidate id of the RUN (default: its chosen model).")
@click.option("--arch", "arch_path", type=click.Path(path_type=Path), default=None,
              help="Architecture JSON (instead of RUN).")
@click.option("--weights", "weights_path", type=click.Path(path_type=Path), default=None,
              help="torch.save-d state_dict of the architecture's TorchNet (with --arch).")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="An .npz with 'x' (float test inputs), optional 'y' (labels) and optional "
                   "'x_calibration' (calibration inputs; default: the first 256 of 'x').")
@click.option("--dataset-name", default=None, help="Dataset name for the card and the C names.")
@click.option("--float-accuracy", type=FRACTION, default=None,
              help="The trainer's float accuracy (0..1); default: recomputed on 'x', 'y'.")
@click.option("--name", default=None,
              help="Model name for the C symbols (default: <dataset>_<hash>).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("export"), show_default=True, help="Output folder.")
@force_option("the files of an earlier export in --out")
@devices_dir_option
@json_option("Print the model card as JSON only.")
def export(
    run: Path | None,
    candidate: str | None,
    arch_path: Path | None,
    weights_path: Path | None,
    data_path: Path | None,
    dataset_name: str | None,
    float_accuracy: float | None,
    name: str | None,
    out_dir: Path,
    force: bool,
    devices_dir: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Export a trained model: RUN (a search run folder) or --arch and --weights.

    Writes model.tflite (full-integer int8, verified in TFLite Micro against LiteRT's reference
    kernels), model_data.cc/.h (a 16-byte-aligned const array) and model_card.json (accuracy,
    flash, arena, predicted latency per board, input quantisation, tool versions).
    """
    import json

    from tinynas.cli._output import refuse_existing
    from tinynas.export import OUTPUT_NAMES, ExportError, check_out_dir, export_model, load_data

    _check_source(run, candidate, arch_path, weights_path)
    check_out_dir(out_dir)  # before anything is loaded or converted
    refuse_existing([out_dir / name for name in OUTPUT_NAMES], "--out", force)
    if data_path is None:
        raise ExportError(
            "export needs data to calibrate the int8 model: give --data FILE.npz "
            "with an array 'x' of float inputs (and 'y' labels for accuracy)"
        )
    x, y, x_calibration = load_data(data_path)  # cheap checks first, then torch
    arch, net = _source(run, candidate, arch_path, weights_path)
    result = export_model(
        arch, net, out_dir, dataset_name=dataset_name, test_inputs=x, test_labels=y,
        float_accuracy=float_accuracy, representative=x_calibration, name=name,
        devices_dir=devices_dir,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result.card, indent=2))
    else:
        click.echo("\n".join(_summary_lines(result)))
