"""``export_model``: architecture + trained torch weights -> the files a firmware build needs.

    out_dir/model.tflite      full-integer int8 (int8 input and output), verified in TFLM
    out_dir/model_data.cc/.h  the same bytes as a 16-byte-aligned const array
    out_dir/model_card.json   architecture, accuracy (float and int8), flash, arena, latency
                              per catalogue board, tool versions, input quantisation

Where the architecture and weights come from is the caller's business: files
(:func:`load_weights`), or a search run (:func:`load_run`).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynas.convert import convert_architecture
from tinynas.devices import load_catalogue
from tinynas.errors import StoreError
from tinynas.export._card import CardInputs, model_card
from tinynas.export._carray import HEADER_NAME, SOURCE_NAME, CArray, ModelFacts, write_c_array
from tinynas.export._verify import ExportError, Verification, verify_int8
from tinynas.inspection import cortex_m_estimate
from tinynas.space import Architecture, read_architecture
from tinynas.store import RunLayout
from tinynas.tflite_file import read_tflite

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet

MODEL_NAME = "model.tflite"
CARD_NAME = "model_card.json"
OUTPUT_NAMES = (MODEL_NAME, SOURCE_NAME, HEADER_NAME, CARD_NAME)  # what export_model writes
CALIBRATION_SAMPLES = 256  # test inputs used for calibration when no calibration set is given
VERIFY_SAMPLES = 64  # calibration samples verified on when there are no test inputs


@dataclass(frozen=True)
class ExportResult:
    """The files written and what they were verified to do."""

    out_dir: Path
    tflite_path: Path
    c_array: CArray
    card_path: Path
    card: dict[str, Any]
    verification: Verification


def export_model(
    arch: Architecture,
    net: TorchNet,
    out_dir: str | Path,
    *,
    dataset_name: str | None = None,
    test_inputs: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    float_accuracy: float | None = None,
    representative: np.ndarray | None = None,
    name: str | None = None,
    devices_dir: str | Path | None = None,
) -> ExportResult:
    """Convert, verify and write an exported model.

    Args:
        arch: The architecture.
        net: Its trained torch network (a ``TorchNet``); put in eval mode here.
        out_dir: Folder for the four files (created; files of the same names are replaced).
        dataset_name: Recorded in the card, and the default name's prefix.
        test_inputs: Float inputs (N, *input_shape) to verify on and to measure accuracy with.
        test_labels: Class indices (N,) of `test_inputs`; without them no accuracy is measured.
        float_accuracy: The float accuracy the trainer measured (0..1); recomputed from `net`
            on the test inputs when None.
        representative: Float calibration inputs (a few hundred training samples); the first
            256 test inputs are used when None.
        name: The model's name, from which the C symbols derive; default
            ``<dataset>_<architecture hash[:8]>``.
        devices_dir: Extra board TOML files for the per-board latency of the card.

    Raises:
        ExportError: Missing or mis-shaped data, or an int8 model that does not verify.
        ConversionError: The int8 conversion failed.
    """
    out = Path(out_dir)
    check_out_dir(out)  # before the conversion, which takes a while
    calibration, calibration_source = _calibration(arch, representative, test_inputs)
    test = _test_set(arch, test_inputs, test_labels)
    net.eval()
    conversion = convert_architecture(arch, calibration, net, check_inputs=1)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the output folder '{out}': {e.strerror or e}; give "
                          "another --out") from e  # fmt: skip
    tflite_path = out / MODEL_NAME
    tflite_path.write_bytes(conversion.tflite)
    model = read_tflite(tflite_path)
    quantization = (conversion.input_scale, conversion.input_zero_point)
    if test is None:
        samples = calibration[:VERIFY_SAMPLES]
        verification = verify_int8(conversion.tflite, net, samples, None, quantization,
                                   "calibration samples")  # fmt: skip
    else:
        verification = verify_int8(conversion.tflite, net, test[0], test[1], quantization)
    cortex_m = cortex_m_estimate(model)
    c_array = write_c_array(conversion.tflite, out, name or _default_name(arch, dataset_name),
                            _facts(model, conversion.arena.total_bytes, cortex_m.total_bytes))
    card = model_card(CardInputs(
        arch, model, conversion.arena, verification, c_array, dataset_name, float_accuracy,
        calibration_source, tuple(load_catalogue(devices_dir).values()), cortex_m,
    ))  # fmt: skip
    card_path = out / CARD_NAME
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return ExportResult(out, tflite_path, c_array, card_path, card, verification)


def check_out_dir(out: str | Path) -> None:
    """Raises :class:`ExportError` unless folder ``out`` exists and is writable, or can be
    created (its nearest existing ancestor is a writable folder). Nothing is created."""
    out = Path(out)
    existing = out.absolute()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if out.exists() and not out.is_dir():
        raise ExportError(f"output folder '{out}' is a file; give a folder with --out")
    if not existing.is_dir():
        raise ExportError(f"output folder '{out}' cannot be created: '{existing}' is a file; "
                          "give another folder with --out")  # fmt: skip
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == out.absolute() else \
            f"cannot be created: '{existing}' is not writable"
        raise ExportError(f"output folder '{out}' {what}; give a writable folder with --out")


def _default_name(arch: Architecture, dataset_name: str | None) -> str:
    return f"{dataset_name or 'model'}_{arch.content_hash[:8]}"


def _facts(model: Any, arena_bytes: int, arena_cortex_m_bytes: int | None) -> ModelFacts:
    return ModelFacts(
        model.input_shape, model.input_scale, model.input_zero_point,
        model.output_shape, model.output_scale, model.output_zero_point, arena_bytes,
        arena_cortex_m_bytes,
    )  # fmt: skip


def _checked_inputs(arch: Architecture, x: Any, what: str) -> np.ndarray:
    """`x` as float32 (N, *input_shape), or an ExportError saying what is wrong."""
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ExportError(f"{what} are not numbers ({e}); give float arrays") from e
    if x.ndim < 1 or len(x) == 0 or x.shape[1:] != tuple(arch.input_shape):
        raise ExportError(
            f"{what} have shape {list(x.shape)} but the architecture takes "
            f"(N, {', '.join(map(str, arch.input_shape))}) with N >= 1"
        )
    finite = np.isfinite(x)
    if not finite.all():  # the converter's calibration and TFLM would take NaN or inf as is
        where = [int(i) for i in np.argwhere(~finite)[0]]
        raise ExportError(f"{what} hold {x[tuple(where)]} at {where} and "
                          f"{int((~finite).sum())} non-finite value(s) in all; replace them")
    return x


def _calibration(
    arch: Architecture, representative: Any, test_inputs: Any
) -> tuple[np.ndarray, str]:
    if representative is not None:
        x = _checked_inputs(arch, representative, "calibration inputs")
        return x, f"{len(x)} calibration inputs given by the caller"
    if test_inputs is not None:
        x = _checked_inputs(arch, test_inputs, "test inputs")[:CALIBRATION_SAMPLES]
        return x, f"the first {len(x)} test inputs (no calibration set was given)"
    raise ExportError(
        "export needs data to calibrate the int8 conversion: give representative inputs "
        "(a few hundred training samples) or test inputs"
    )


def _test_set(
    arch: Architecture, test_inputs: Any, test_labels: Any
) -> tuple[np.ndarray, np.ndarray | None] | None:
    if test_inputs is None:
        if test_labels is not None:
            raise ExportError("test labels were given without test inputs")
        return None
    x = _checked_inputs(arch, test_inputs, "test inputs")
    if test_labels is None:
        return x, None
    y = np.asarray(test_labels).reshape(-1)
    if len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise ExportError(
            f"test labels must be {len(x)} class indices (one per test input), "
            f"got {len(y)} of dtype {y.dtype}"
        )
    if y.min() < 0 or y.max() >= arch.num_classes:
        raise ExportError(f"test labels must lie in 0..{arch.num_classes - 1}, got "
                          f"{int(y.min())}..{int(y.max())}")  # fmt: skip
    return x, y


# ---- where architecture and weights come from ---------------------------------------------------


def load_weights(arch_path: str | Path, weights_path: str | Path) -> tuple[Architecture, TorchNet]:
    """An architecture JSON and a ``torch.save``-d state_dict of its ``TorchNet``.

    Raises:
        SearchSpaceError: The architecture JSON is unreadable or invalid.
        ExportError: The weights are unreadable or do not belong to the architecture.
    """
    arch = _load_architecture(Path(arch_path))
    return arch, _load_net(arch, Path(weights_path))


def _load_architecture(path: Path) -> Architecture:
    return read_architecture(path)  # not UTF-8, too deep, too large: one SearchSpaceError


def _load_net(arch: Architecture, path: Path) -> TorchNet:
    import torch

    from tinynas.space.torch_builder import build_torch

    if not path.is_file():
        raise ExportError(f"weights file '{path}' not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and torch errors of many kinds
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ExportError(
            f"'{path}' is not a torch state_dict saved with torch.save: {reason}"
        ) from e
    net = build_torch(arch)
    if not isinstance(state, dict):
        raise ExportError(f"'{path}' holds a {type(state).__name__}, not a state_dict; "
                          "save it with torch.save(net.state_dict(), path)")  # fmt: skip
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise ExportError(
            f"the weights in '{path}' do not belong to architecture {arch.content_hash}: "
            f"{_first_mismatch(str(e))}"
        ) from e
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise ExportError(f"the weights in '{path}' hold non-finite values in {name}; "
                              "the network diverged in training: retrain it")
    return net


def _first_mismatch(message: str) -> str:
    lines = [line.strip() for line in message.splitlines()[1:] if line.strip()]
    return lines[0] if lines else message.splitlines()[0]


def load_data(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Test inputs, labels and calibration inputs from an ``.npz`` file.

    The file holds ``x`` (float test inputs, N x input shape), and optionally ``y`` (N class
    indices) and ``x_calibration`` (float calibration inputs); write it with
    ``numpy.savez(path, x=..., y=..., x_calibration=...)``.

    Raises:
        ExportError: The file is missing, not an npz archive, or has no ``x``.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"data file '{path}' not found")
    try:
        arrays = _npz_arrays(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ExportError(f"'{path}' is not an .npz archive of arrays: {e}") from e
    if "x" not in arrays:
        names = ", ".join(list(arrays)[:5]) + (", ..." if len(arrays) > 5 else "")
        raise ExportError(f"'{path}' has no array 'x' (it has {names or 'none'}); "
                          "save it with numpy.savez(path, x=inputs, y=labels)")  # fmt: skip
    return arrays["x"], arrays.get("y"), arrays.get("x_calibration")


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError("it holds a single array; save it with numpy.savez(path, x=..., y=...)")
    with loaded:
        return {key: loaded[key] for key in loaded.files}


def load_run(run_dir: str | Path, candidate: str | None = None) -> tuple[Architecture, TorchNet]:
    """The architecture and weights of a search run's chosen model (or one trained candidate).

    The chosen model is read from the run folder's ``architecture.json`` and ``weights.pt``
    (written when a search finishes); a candidate from the run store, with the weights of its
    last training (``weights/<id>-<stage>.pt``).

    Raises:
        StoreError: The folder has no such files, or the candidate was never trained.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise StoreError(
            f"run '{run}' is not a folder; give a run folder, or --arch and --weights"
        )
    layout = RunLayout(run)
    arch_file, weights_file = layout.architecture, layout.chosen_weights
    if candidate is None and arch_file.is_file() and weights_file.is_file():
        return load_weights(arch_file, weights_file)
    if candidate is None:
        raise StoreError(f"run '{run}' has no {arch_file.name} and {weights_file.name} (not "
                         "finished?); pass --candidate ID, or export from files with --arch and "
                         "--weights")
    return _load_candidate(layout, candidate)


def _load_candidate(layout: RunLayout, candidate: str) -> tuple[Architecture, TorchNet]:
    from tinynas.store import RunStore

    run = layout.root
    if not candidate.isdigit():
        raise StoreError(f"candidate '{candidate}' is not an id; tinynas runs show lists them")
    with RunStore.open(run, writable=False) as store:
        record = store.candidate(int(candidate))
        stages = [t.stage for t in store.trainings(record.id)]
    weights = [layout.weights(record.id, stage) for stage in stages]
    weights = [w for w in weights if w.is_file()]
    if not weights:
        raise StoreError(f"candidate {record.id} of '{run}' has no trained weights; export a "
                         "trained candidate (tinynas runs show marks them)")
    return record.architecture, _load_net(record.architecture, weights[-1])
