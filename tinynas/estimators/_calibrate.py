"""Fitting the per-op latency model to latencies: published reference figures or measurements.

The cycle model of ``_latency.py`` has up to four coefficients per op type; four to a dozen
timed models cannot pin down dozens of free numbers, so the fit ties them to eight shared
parameters (:class:`CycleParameters`)::

    cycles = conv    * MACs(CONV_2D)            + per_output       * outputs(CONV_2D, DW, FC)
           + dw      * MACs(DEPTHWISE_CONV_2D)  + other_per_output * outputs(every other op)
           + fc      * MACs(FULLY_CONNECTED)    + per_op           * ops
           + conv_window * windows(CONV_2D)     + dw_window        * windows(DEPTHWISE_CONV_2D)

(windows: output positions x kernel taps). Each model's latency gives one row of a linear
system in these eight unknowns. Rows are scaled by
the model's own cycle count, so the fit minimises relative error (a 10 ms model weighs as much
as a 700 ms one). A :class:`Prior` adds one pseudo-row per parameter pulling it toward a centre
(ridge regression toward prior values); the depthwise and fully-connected rows pull the ratio of
their cost per MAC to the convolution's toward the prior's ratio instead of toward a fixed
number. The system is solved by non-negative least squares (``scipy.optimize.nnls``): no
coefficient can come out negative. Without a prior and with at least six models of different
op mixes (eight with the window terms), the fit recovers the coefficients that generated the
data exactly.

Every latency fed in says where it came from ("measured" on a board, or "published" by a
benchmark round); an emulated latency is a model of a board, not evidence about one, and is
refused (:class:`EmulatedLatencyError`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tinynas.devices import Device, LatencyModel, OpLatencyCoefficients
from tinynas.errors import ModelFileError, TinyNASError
from tinynas.estimators._latency import file_op_costs

if TYPE_CHECKING:
    import numpy as np

    from tinynas.estimators._latency import OpCost

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
PROVENANCES = ("measured", "published")

# MLPerf Tiny v0.5 reference submission: TFLM 2.3.1 + CMSIS-NN on mbed, NUCLEO-L4R5ZI at 120 MHz;
# ms per inference = 1000 / median throughput (the table of shared/fixtures/mlperf-tiny/README.md).
MLPERF_TINY_V05_REFERENCE_MS = {
    "kws_ref_model.tflite": 181.9,
    "vww_96_int8.tflite": 600.6,
    "pretrainedResnet_quant.tflite": 704.2,
    "ad01_int8.tflite": 10.1,
}
MLPERF_TINY_V05_CLOCK_HZ = 120_000_000


class CalibrationError(TinyNASError):
    """Latencies that cannot be fitted: too few models, a bad value, a malformed file."""


class EmulatedLatencyError(CalibrationError):
    """A latency that was emulated (or of unknown origin) offered as evidence about a board."""


@dataclass(frozen=True)
class CycleParameters:
    """The shared numbers behind a board's per-op cycle coefficients."""

    conv_cycles_per_mac: float  # CONV_2D
    depthwise_cycles_per_mac: float  # DEPTHWISE_CONV_2D
    fc_cycles_per_mac: float  # FULLY_CONNECTED
    cycles_per_output: float  # per output element of the three MAC ops (requantisation, ...)
    other_cycles_per_output: float  # per output element of every other op (ADD, pooling, ...)
    cycles_per_op: float  # per op: interpreter dispatch and kernel set-up
    conv_cycles_per_window: float = 0.0  # CONV_2D, per output position and kernel tap
    depthwise_cycles_per_window: float = 0.0  # DEPTHWISE_CONV_2D, likewise

    def latency_model(self, source: str) -> LatencyModel:
        """The per-op coefficients these parameters stand for, as a device's latency model."""
        mac = {"CONV_2D": self.conv_cycles_per_mac,
               "DEPTHWISE_CONV_2D": self.depthwise_cycles_per_mac,
               "FULLY_CONNECTED": self.fc_cycles_per_mac}  # fmt: skip
        window = {"CONV_2D": self.conv_cycles_per_window,
                  "DEPTHWISE_CONV_2D": self.depthwise_cycles_per_window}  # fmt: skip
        ops = {"default": OpLatencyCoefficients(0.0, self.other_cycles_per_output,
                                                self.cycles_per_op)}  # fmt: skip
        for op, per_mac in mac.items():
            ops[op] = OpLatencyCoefficients(per_mac, self.cycles_per_output, self.cycles_per_op,
                                            window.get(op, 0.0))  # fmt: skip
        return LatencyModel(source, ops)

    @classmethod
    def from_latency_model(cls, model: LatencyModel) -> CycleParameters:
        """Read the shared parameters back from a device's coefficients (the CONV_2D row holds
        the per-output cost of MAC ops, the default row that of the others)."""
        conv, default = model.coefficients("CONV_2D"), model.coefficients("default")
        return cls(
            conv.cycles_per_mac,
            model.coefficients("DEPTHWISE_CONV_2D").cycles_per_mac,
            model.coefficients("FULLY_CONNECTED").cycles_per_mac,
            conv.cycles_per_output,
            default.cycles_per_output,
            default.cycles_per_op,
            conv.cycles_per_window_element,
            model.coefficients("DEPTHWISE_CONV_2D").cycles_per_window_element,
        )

    def scaled(self, factor: float) -> CycleParameters:
        """Every parameter multiplied by ``factor`` (e.g. the cycle ratio of another core)."""
        return CycleParameters(*(factor * v for v in astuple(self)))


# Smallest prior width of each parameter: a centre of 0 must still leave the data room to move.
_MIN_WIDTH = CycleParameters(0.1, 0.1, 0.1, 1.0, 1.0, 100.0, 1.0, 1.0)
# Refitting a board, its current coefficients (often placeholders) are a weak prior: a
# parameter 10x its own size away costs as much as one model off by 100%. The measurements
# decide; the prior only settles what they leave open.
DEFAULT_RELATIVE_WIDTH = 10.0


@dataclass(frozen=True)
class Prior:
    """What is believed about the parameters before the data: a centre and a width for each.

    The conv, per-output, other-per-output and per-op rows pull a parameter toward its centre;
    the depthwise and fully-connected rows pull ``dw - conv * (dw0 / conv0)`` (likewise fc)
    toward 0, i.e. keep their cost per MAC near the prior's ratio to the convolution's. A
    parameter ``width`` away from where the prior wants it costs as much as a 100% error on
    one model.
    """

    centre: CycleParameters
    width: CycleParameters  # absolute, in each parameter's own unit

    @classmethod
    def around(cls, centre: CycleParameters, relative: float = DEFAULT_RELATIVE_WIDTH) -> Prior:
        """A prior centred on ``centre`` with widths ``relative * centre`` (at least a floor)."""
        if not (math.isfinite(relative) and relative > 0):
            raise CalibrationError(f"prior width {relative!r} must be a positive number")
        widths = (max(relative * c, m) for c, m in
                  zip(astuple(centre), astuple(_MIN_WIDTH), strict=True))  # fmt: skip
        return cls(centre, CycleParameters(*widths))


# The TFLM 2.3.1 + CMSIS-NN stack of the MLPerf Tiny v0.5 reference on Cortex-M4F; every width
# is 100% of its centre.
# conv: 8 cycles/MAC, mid of that stack's whole-model 6.8-9.6 (mlperf-tiny fixtures README).
# depthwise: assumed 2x conv per MAC (each input byte feeds a single output channel, so there
#   is less reuse per loaded byte than in an im2col convolution); only KWS and VWW have any.
# fully connected: 0.7x conv per MAC (a vector-matrix product: no im2col, no padding checks).
#   This ratio is NOT independent of the data: it was chosen with the published AD figure in
#   view, and it alone decides the AD leave-one-out prediction (FC is < 0.03% of the other
#   three models' MACs). benchmarks/latency_model.py prints how that prediction moves with it.
# per output element: 20 cycles (requantisation of an int8 output); other ops: 5 cycles per
# output element; per op: 2000 cycles of dispatch and set-up. The four models barely
# constrain the last two: they stay near their centres.
# That fit has no window terms: they are held at 0.
_REFERENCE = Prior.around(CycleParameters(8.0, 16.0, 5.6, 20.0, 5.0, 2000.0), 1.0)
M4F_TFLM_REFERENCE_PRIOR = Prior(_REFERENCE.centre, replace(
    _REFERENCE.width, conv_cycles_per_window=1e-6, depthwise_cycles_per_window=1e-6))


@dataclass(frozen=True)
class LatencySample:
    """One model with one latency on one board (at the board's catalogue clock)."""

    name: str
    ops: tuple[OpCost, ...]
    latency_ms: float
    provenance: str  # "measured" or "published"


@dataclass(frozen=True)
class HeldOut:
    """One model predicted by a fit that did not see it."""

    name: str
    latency_ms: float  # the sample's own latency
    fitted_ms: float  # predicted by the fit on every sample (in-sample)
    held_out_ms: float  # predicted by the fit on every other sample

    @property
    def error(self) -> float:
        """Relative error of the held-out prediction: (predicted - actual) / actual."""
        return (self.held_out_ms - self.latency_ms) / self.latency_ms


@dataclass(frozen=True)
class Calibration:
    """A fit on every sample plus its leave-one-out check."""

    parameters: CycleParameters
    clock_hz: int
    rows: tuple[HeldOut, ...]

    @property
    def max_abs_error(self) -> float:
        """The largest leave-one-out relative error, as a fraction."""
        return max(abs(r.error) for r in self.rows)


# ---- the fit ------------------------------------------------------------------------------------

_PARAMETERS = len(astuple(_MIN_WIDTH))


def features(ops: Sequence[OpCost]) -> tuple[float, ...]:
    """Each parameter's multiplier in the model's cycle count (the order of CycleParameters)."""
    f = [0.0] * _PARAMETERS
    for cost in ops:
        if cost.op in MAC_OPS:
            f[MAC_OPS.index(cost.op)] += cost.macs
            f[3] += cost.output_elements
        else:
            f[4] += cost.output_elements
        f[5] += 1
        if cost.op == "CONV_2D":
            f[6] += cost.window_elements
        elif cost.op == "DEPTHWISE_CONV_2D":
            f[7] += cost.window_elements
    return tuple(f)


def predict_cycles(parameters: CycleParameters, ops: Sequence[OpCost]) -> float:
    """Cycles of one inference under ``parameters``; equal to ``predict_latency`` on a board
    whose coefficients are ``parameters.latency_model(...)``."""
    return sum(x * p for x, p in zip(features(ops), astuple(parameters), strict=True))


def _check_samples(samples: Sequence[LatencySample], clock_hz: int) -> None:
    if clock_hz <= 0:
        raise CalibrationError(f"clock {clock_hz} Hz is not positive; give the board's clock")
    for s in samples:
        if s.provenance not in PROVENANCES:
            raise EmulatedLatencyError(
                f"{s.name}: latency provenance '{s.provenance}' cannot calibrate a board; only "
                "measured (or published) latencies can: measure it on the board with "
                "'tinynas profile --port ...'"
            )
        if not (math.isfinite(s.latency_ms) and s.latency_ms > 0):
            raise CalibrationError(
                f"{s.name}: latency {s.latency_ms!r} ms is not a positive number of milliseconds"
            )
        if not s.ops:
            raise CalibrationError(f"{s.name}: the model has no ops to fit")


def _prior_rows(prior: Prior) -> tuple[list[list[float]], list[float]]:
    c, w = astuple(prior.centre), astuple(prior.width)
    rows, rhs = [], []
    for j in (0, 3, 4, 5, 6, 7):  # pulled toward their centre
        row = [0.0] * _PARAMETERS
        row[j] = 1.0 / w[j]
        rows.append(row)
        rhs.append(c[j] / w[j])
    for j in (1, 2):  # pulled toward their centre's ratio to the convolution's cost per MAC
        ratio = c[j] / c[0] if c[0] > 0 else 0.0
        row = [0.0] * _PARAMETERS
        row[0], row[j] = -ratio / w[j], 1.0 / w[j]
        rows.append(row)
        rhs.append(0.0 if c[0] > 0 else c[j] / w[j])
    return rows, rhs


def _solve(rows: list[list[float]], rhs: list[float]) -> np.ndarray:
    import numpy as np
    from scipy.optimize import nnls

    solution, _ = nnls(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    return solution


def fit(
    samples: Sequence[LatencySample], clock_hz: int, prior: Prior | None = None
) -> CycleParameters:
    """The non-negative parameters that best explain ``samples`` (relative least squares).

    Args:
        samples: Models with their latencies on one board.
        clock_hz: The board's clock during the timing; converts milliseconds to cycles.
        prior: Centres and widths to regularise toward; None fits the data alone (then at
            least six models with different op mixes are needed for a unique answer).

    Raises:
        CalibrationError: No samples, or a sample with a bad latency.
        EmulatedLatencyError: A sample that is neither measured nor published.
    """
    if not samples:
        raise CalibrationError("no latencies to fit; give at least two measured models")
    _check_samples(samples, clock_hz)
    rows, rhs = [], []
    for s in samples:
        cycles = s.latency_ms * clock_hz / 1000.0
        rows.append([x / cycles for x in features(s.ops)])
        rhs.append(1.0)
    if prior is not None:
        prior_rows, prior_rhs = _prior_rows(prior)
        rows += prior_rows
        rhs += prior_rhs
    return CycleParameters(*(float(v) for v in _solve(rows, rhs)))


def leave_one_out(
    samples: Sequence[LatencySample], clock_hz: int, prior: Prior | None = None
) -> Calibration:
    """Fit on every sample, and predict each sample from a fit on all the others.

    Raises:
        CalibrationError: Fewer than two samples (nothing would be left to fit on).
    """
    if len(samples) < 2:
        raise CalibrationError(
            f"leave-one-out needs at least two models, got {len(samples)}; time more models"
        )
    full = fit(samples, clock_hz, prior)
    rows = []
    for i, s in enumerate(samples):
        rest = fit([t for j, t in enumerate(samples) if j != i], clock_hz, prior)
        rows.append(HeldOut(s.name, s.latency_ms, _ms(full, s, clock_hz), _ms(rest, s, clock_hz)))
    return Calibration(full, clock_hz, tuple(rows))


def calibrate_device(
    device: Device,
    samples: Sequence[LatencySample],
    relative_width: float = DEFAULT_RELATIVE_WIDTH,
) -> Calibration:
    """Refit ``device``'s coefficients to ``samples``, its current ones as a prior whose width
    is ``relative_width`` times each parameter."""
    centre = CycleParameters.from_latency_model(device.latency)
    return leave_one_out(samples, device.clock_hz, Prior.around(centre, relative_width))


def _ms(parameters: CycleParameters, sample: LatencySample, clock_hz: int) -> float:
    return 1000.0 * predict_cycles(parameters, sample.ops) / clock_hz


# ---- inputs -------------------------------------------------------------------------------------


def sample_from_file(path: str | Path, latency_ms: float, provenance: str) -> LatencySample:
    """A sample whose ops are read from an int8 ``.tflite`` file.

    Raises:
        ModelFileError: The file is missing or not an int8 TFLite model.
    """
    from tinynas.tflite_file import read_tflite

    path = Path(path)
    ops = tuple(file_op_costs(read_tflite(path)))
    return LatencySample(path.name, ops, latency_ms, provenance)


def mlperf_reference_samples(fixtures_dir: str | Path) -> list[LatencySample]:
    """The four MLPerf Tiny models with their v0.5 reference latencies (NUCLEO-L4R5ZI)."""
    folder = Path(fixtures_dir)
    if not folder.is_dir():
        raise ModelFileError(f"MLPerf Tiny fixtures folder '{folder}' not found")
    return [sample_from_file(folder / name, ms, "published")
            for name, ms in MLPERF_TINY_V05_REFERENCE_MS.items()]  # fmt: skip


def load_measurements(path: str | Path) -> list[LatencySample]:
    """Measured latencies from a JSON list of ``{"model": "x.tflite", "latency_ms": 12.3,
    "provenance": "measured"}`` (model paths relative to the JSON file's folder).

    Raises:
        CalibrationError: A missing or malformed file or entry.
        EmulatedLatencyError: An entry whose provenance is not "measured".
        ModelFileError: A model file that is missing or not int8 TFLite.
    """
    import json

    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CalibrationError(f"cannot read measurements '{path}': {e}") from e
    if not isinstance(entries, list) or not entries:
        raise CalibrationError(
            f"measurements '{path}' must be a non-empty JSON list of "
            '{"model": ..., "latency_ms": ..., "provenance": "measured"} objects'
        )
    return [_measurement(path, i, entry) for i, entry in enumerate(entries, start=1)]


def _measurement(path: Path, number: int, entry: object) -> LatencySample:
    where = f"{path.name} entry {number}"
    if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
        raise CalibrationError(f'{where}: expected an object with a "model" path, got {entry!r}')
    provenance = entry.get("provenance")
    if provenance != "measured":
        raise EmulatedLatencyError(
            f"{where} ({entry['model']}): provenance {provenance!r} refused; calibration takes "
            'only latencies measured on the board ("provenance": "measured"); an emulated '
            "latency is the model's own prediction and would fit the model to itself"
        )
    latency_ms = entry.get("latency_ms")
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, int | float):
        raise CalibrationError(f'{where}: "latency_ms" must be a number, got {latency_ms!r}')
    return sample_from_file(path.parent / entry["model"], float(latency_ms), "measured")


def latency_toml(model: LatencyModel) -> str:
    """The ``[latency]`` section of a device TOML file for ``model`` (default row first)."""
    import json

    lines = ["[latency]", f"source = {json.dumps(model.source, ensure_ascii=False)}"]
    for op in sorted(model.ops, key=lambda name: (name != "default", name)):
        c = model.ops[op]
        lines += ["", f"[latency.ops.{op}]", f"cycles_per_mac = {_toml_float(c.cycles_per_mac)}",
                  f"cycles_per_output = {_toml_float(c.cycles_per_output)}",
                  f"cycles_per_op = {_toml_float(c.cycles_per_op)}"]  # fmt: skip
        if c.cycles_per_window_element:
            lines.append("cycles_per_window_element = "
                         f"{_toml_float(c.cycles_per_window_element)}")
    return "\n".join(lines) + "\n"


def _toml_float(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def with_source(parameters: CycleParameters, source: str) -> LatencyModel:
    """``parameters`` as a latency model, rounded to the 4 significant digits TOML gets."""
    # a term the prior holds at 0 comes out of the solver as a rounding residue
    rounded = CycleParameters(*(float(f"{v:.4g}") if abs(v) > 1e-9 else 0.0
                                for v in astuple(parameters)))  # fmt: skip
    return rounded.latency_model(source)


__all__ = [
    "DEFAULT_RELATIVE_WIDTH",
    "M4F_TFLM_REFERENCE_PRIOR",
    "MLPERF_TINY_V05_CLOCK_HZ",
    "MLPERF_TINY_V05_REFERENCE_MS",
    "Calibration",
    "CalibrationError",
    "CycleParameters",
    "EmulatedLatencyError",
    "HeldOut",
    "LatencySample",
    "Prior",
    "calibrate_device",
    "features",
    "fit",
    "latency_toml",
    "leave_one_out",
    "load_measurements",
    "mlperf_reference_samples",
    "predict_cycles",
    "sample_from_file",
    "with_source",
]
