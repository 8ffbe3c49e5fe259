"""The latency-model fit: exact recovery, priors, MLPerf Tiny leave-one-out, `tinynas calibrate`.

The MLPerf Tiny figures are the published v0.5 reference latencies of
``shared/fixtures/mlperf-tiny/README.md``; the CLI runs as a real process and its TOML is read
back by the real catalogue loader.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import HAVE_MLPERF_TINY, run_cli
from helpers import MLPERF_TINY_DIR as FIXTURES
from helpers import REPO_ROOT as ROOT
from helpers import needs_mlperf_tiny as needs_fixtures

from tinynas.devices import get_device, load_catalogue
from tinynas.estimators import OpCost, file_op_costs, predict_latency
from tinynas.estimators._calibrate import (
    M4F_TFLM_REFERENCE_PRIOR,
    MLPERF_TINY_V05_CLOCK_HZ,
    CalibrationError,
    CycleParameters,
    EmulatedLatencyError,
    LatencySample,
    Prior,
    fit,
    leave_one_out,
    load_measurements,
    mlperf_reference_samples,
    predict_cycles,
)
from tinynas.testing.cli import assert_one_line_error as one_line_error_of

# Without the fixtures the CLI tests convert small models of their own, which needs TensorFlow.
slow_without_fixtures: Callable[[Any], Any] = (
    (lambda test: test) if HAVE_MLPERF_TINY else pytest.mark.slow
)

TRUE = CycleParameters(3.0, 6.5, 2.0, 12.0, 4.0, 1500.0, 40.0, 25.0)
CLOCK_HZ = 100_000_000
_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MAX_POOL_2D", "RESHAPE")


def synthetic_model(rng: random.Random) -> tuple[OpCost, ...]:
    """A random op mix: MAC ops with random MACs and outputs, and MAC-free ops."""
    ops = []
    for _ in range(rng.randint(2, 12)):
        op = rng.choice(_OPS)
        macs = rng.randint(1_000, 2_000_000) if op in _OPS[:3] else 0
        window = rng.randint(100, 200_000) if op in _OPS[:2] else 0  # positions x taps
        ops.append(OpCost(op, macs, rng.randint(10, 40_000), window_elements=window))
    return tuple(ops)


def board_with(parameters: CycleParameters, name: str = "nucleo-l4r5zi") -> Any:
    """A catalogue board whose latency model is ``parameters``, at CLOCK_HZ."""
    latency = parameters.latency_model("synthetic")
    return dataclasses.replace(get_device(name), latency=latency, clock_hz=CLOCK_HZ)


def synthetic_samples(count: int, seed: int = 0) -> list[LatencySample]:
    """Models timed by the real latency model of a board whose coefficients are TRUE."""
    rng, board = random.Random(seed), board_with(TRUE)
    models = [synthetic_model(rng) for _ in range(count)]
    return [LatencySample(f"m{i}", ops, predict_latency(ops, board).latency_ms, "measured")
            for i, ops in enumerate(models)]  # fmt: skip


# ---- the fit ------------------------------------------------------------------------------------


def test_fit_recovers_known_coefficients_exactly() -> None:
    fitted = fit(synthetic_samples(10), CLOCK_HZ)
    for name, value in dataclasses.asdict(fitted).items():
        assert value == pytest.approx(getattr(TRUE, name), rel=1e-9), name


def test_fit_and_latency_model_predict_the_same() -> None:
    board = board_with(TRUE)
    for ops in (synthetic_model(random.Random(s)) for s in range(20)):
        expected = predict_latency(ops, board).cycles
        assert predict_cycles(TRUE, ops) == pytest.approx(expected, rel=1e-12)
    assert CycleParameters.from_latency_model(board.latency) == TRUE


def test_leave_one_out_of_consistent_data_is_exact() -> None:
    calibration = leave_one_out(synthetic_samples(9, seed=1), CLOCK_HZ)
    assert len(calibration.rows) == 9
    assert calibration.max_abs_error < 1e-9
    for row in calibration.rows:
        assert row.held_out_ms == pytest.approx(row.latency_ms, rel=1e-9)


def test_prior_settles_what_the_data_cannot_see() -> None:
    conv_only = (OpCost("CONV_2D", 1_000_000, 20_000), OpCost("CONV_2D", 400_000, 5_000))
    cycles = 5_000_000.0
    sample = LatencySample("conv", conv_only, 1000 * cycles / CLOCK_HZ, "measured")
    prior = Prior.around(CycleParameters(2.0, 6.0, 1.0, 4.0, 4.0, 2000.0))
    fitted = fit([sample], CLOCK_HZ, prior)
    assert predict_cycles(fitted, conv_only) == pytest.approx(cycles, rel=0.02)  # data decide
    assert fitted.conv_cycles_per_mac > 2.5  # moved well away from the prior's 2.0
    # no depthwise or FC op was timed: their ratios to the convolution stay the prior's
    assert fitted.depthwise_cycles_per_mac / fitted.conv_cycles_per_mac == pytest.approx(3.0)
    assert fitted.fc_cycles_per_mac / fitted.conv_cycles_per_mac == pytest.approx(0.5)


def test_fit_never_returns_negative_coefficients() -> None:
    samples = synthetic_samples(8, seed=2)
    factors = (0.3, 3.0, 1.0, 0.5, 2.0, 1.0, 0.2, 4.0)
    noisy = [dataclasses.replace(s, latency_ms=s.latency_ms * f)
             for s, f in zip(samples, factors, strict=True)]  # fmt: skip
    assert min(dataclasses.astuple(fit(noisy, CLOCK_HZ))) >= 0.0


@pytest.mark.parametrize("provenance", ["emulated", "predicted", ""])
def test_fit_refuses_latencies_that_were_not_measured(provenance: str) -> None:
    sample = dataclasses.replace(synthetic_samples(1)[0], provenance=provenance)
    with pytest.raises(EmulatedLatencyError, match="measured"):
        fit([sample], CLOCK_HZ)


@pytest.mark.parametrize("latency_ms", [0.0, -3.0, float("nan")])
def test_fit_refuses_non_positive_latencies(latency_ms: float) -> None:
    sample = dataclasses.replace(synthetic_samples(1)[0], latency_ms=latency_ms)
    with pytest.raises(CalibrationError, match="not a positive number"):
        fit([sample], CLOCK_HZ)


def test_leave_one_out_needs_two_models() -> None:
    with pytest.raises(CalibrationError, match="at least two models, got 1"):
        leave_one_out(synthetic_samples(1), CLOCK_HZ)


# ---- MLPerf Tiny --------------------------------------------------------------------------------


@needs_fixtures
def test_mlperf_leave_one_model_out_within_25_percent() -> None:
    samples = mlperf_reference_samples(FIXTURES)
    calibration = leave_one_out(samples, MLPERF_TINY_V05_CLOCK_HZ, M4F_TFLM_REFERENCE_PRIOR)
    errors = {row.name: row.error for row in calibration.rows}
    assert set(errors) == {s.name for s in samples} and len(errors) == 4
    assert all(abs(e) <= 0.25 for e in errors.values()), errors
    # each held-out prediction comes from a different fit than the in-sample one
    assert all(row.held_out_ms != row.fitted_ms for row in calibration.rows)


def test_catalogue_carries_the_instruction_model() -> None:
    """benchmarks/instruction_model.py --write-devices: the Cortex-M4F boards share one table,
    the Cortex-M7 boards carry it scaled by one factor and say it is an estimate."""
    boards = load_catalogue()
    l4 = boards["nucleo-l4r5zi"].latency
    assert l4.source.startswith("instruction model of TFLM + CMSIS-NN")
    conv = l4.coefficients("CONV_2D")
    assert conv.cycles_per_window_element > 0 and conv.cycles_per_mac > 0
    for device in boards.values():
        if device.kernel_library != "cmsis-nn":
            continue
        if device.core == "cortex-m4f":
            assert dict(device.latency.ops) == dict(l4.ops), device.name
        if device.core == "cortex-m7":
            scale = device.latency.coefficients("CONV_2D").cycles_per_mac / conv.cycles_per_mac
            assert 0.4 < scale < 0.8, device.name
            for op, c in l4.ops.items():
                m7 = device.latency.coefficients(op)
                assert m7.cycles_per_op == pytest.approx(scale * c.cycles_per_op, rel=2e-3)
                assert m7.cycles_per_window_element == pytest.approx(
                    scale * c.cycles_per_window_element, rel=2e-3)
            assert device.latency.source.startswith("scaled estimate, not a fit")


@needs_fixtures
def test_catalogue_reproduces_the_published_latencies() -> None:
    """In sample (the cycles per instruction were fitted to these four): within 15%."""
    l4 = load_catalogue()["nucleo-l4r5zi"]
    for sample in mlperf_reference_samples(FIXTURES):
        predicted = predict_latency(sample.ops, l4)
        assert not predicted.partial
        assert abs(predicted.latency_ms / sample.latency_ms - 1) <= 0.15, sample.name


# ---- measurements files and `tinynas calibrate` ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "cannot read measurements"),
        ('{"model": "a.tflite"}', "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('[{"latency_ms": 3, "provenance": "measured"}]', 'a "model" path'),
        ('[{"model": "a.tflite", "latency_ms": "fast", "provenance": "measured"}]',
         '"latency_ms" must be a number'),
        ('[{"model": "a.tflite", "latency_ms": 3}]', "provenance None refused"),
        ('[{"model": "a.tflite", "latency_ms": 3, "provenance": "emulated"}]',
         "provenance 'emulated' refused"),
    ],
)  # fmt: skip
def test_malformed_measurements_are_named(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CalibrationError, match="m.json") as caught:
        load_measurements(path)
    assert fragment in str(caught.value)


def _converted_models(folder: Path) -> list[Path]:
    import numpy as np

    from tinynas.convert import convert_architecture
    from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling

    archs = [Architecture((16, 16, 1), 4, (ConvBlock((ConvLayer("conv2d", 3, c, 2),
                                                     ConvLayer("dwconv2d", 3, 0, 1))),),
                          Pooling("avg", 2), dense) for c, dense in ((4, ()), (8, (16,)),
                                                                     (16, (32,)))]  # fmt: skip
    samples = np.random.default_rng(0).random((8, 16, 16, 1), np.float32)
    paths = []
    for i, arch in enumerate(archs):
        paths.append(folder / f"small{i}.tflite")
        paths[-1].write_bytes(convert_architecture(arch, samples).tflite)
    return paths


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A measurements file: models timed by a board whose coefficients are TRUE (at its clock)."""
    from tinynas.tflite_file import read_tflite

    folder = tmp_path_factory.mktemp("measured")
    if FIXTURES.is_dir():
        models = [Path(shutil.copy(p, folder)) for p in sorted(FIXTURES.glob("*.tflite"))]
    else:
        models = _converted_models(folder)
    clock_hz = get_device("nucleo-f446re").clock_hz
    cycles = [predict_cycles(TRUE, file_op_costs(read_tflite(p))) for p in models]
    entries = [{"model": p.name, "provenance": "measured", "latency_ms": 1000 * c / clock_hz}
               for p, c in zip(models, cycles)]  # fmt: skip
    (folder / "measurements.json").write_text(json.dumps(entries), encoding="utf-8")
    return folder / "measurements.json"


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    return one_line_error_of(result, *fragments, empty_stdout=True)


@slow_without_fixtures
@pytest.mark.cli
def test_calibrate_writes_a_toml_the_catalogue_loads(measured: Path, tmp_path: Path) -> None:
    out = tmp_path / "my-devices"
    result = run_cli("calibrate", "--device", "f446re", measured, "--write", out, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["written"] == str(out / "nucleo-f446re.toml")
    board, builtin = get_device("nucleo-f446re", out), get_device("nucleo-f446re")
    assert board.latency.source.startswith("calibrated by 'tinynas calibrate'")
    assert dataclasses.replace(board, latency=builtin.latency) == builtin  # only latency changed
    conv, prior = (b.latency.coefficients("CONV_2D").cycles_per_mac for b in (board, builtin))
    assert abs(conv - TRUE.conv_cycles_per_mac) < abs(prior - TRUE.conv_cycles_per_mac) / 2
    from tinynas.tflite_file import read_tflite

    entries = json.loads(measured.read_text(encoding="utf-8"))
    for row, entry in zip(report["leave_one_out"], entries, strict=True):
        ops = file_op_costs(read_tflite(measured.parent / entry["model"]))
        predicted = predict_latency(ops, board).latency_ms  # the written TOML's prediction
        assert predicted == pytest.approx(row["fitted_ms"], rel=1e-3)
        assert row["fitted_ms"] == pytest.approx(entry["latency_ms"], rel=0.05)
        # four models leave eight shared numbers to the prior: held out, within 25%
        assert abs(row["error"]) <= 0.25
    written = (out / "nucleo-f446re.toml").read_bytes()
    (out / "nucleo-f446re.toml").write_text("# my own board file\n", encoding="utf-8")
    again = run_cli("calibrate", "--device", "f446re", measured, "--write", out)
    assert_one_line_error(again, f"--write: {out / 'nucleo-f446re.toml'} exists already",
                          "--force to replace it")  # fmt: skip
    assert (out / "nucleo-f446re.toml").read_text(encoding="utf-8") == "# my own board file\n"
    forced = run_cli("calibrate", "--device", "f446re", measured, "--write", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "nucleo-f446re.toml").read_bytes() == written


@slow_without_fixtures
@pytest.mark.cli
def test_calibrate_prints_the_fit_and_leave_one_out(measured: Path) -> None:
    result = run_cli("calibrate", "--device", "nucleo-f446re", measured)
    assert result.returncode == 0, result.stderr
    for text in ("fitted coefficients", "CONV_2D", "leave-one-out", "measured ms",
                 "held-out ms (predicted)"):  # fmt: skip
        assert text in result.stdout


@pytest.mark.parametrize("provenance", ["emulated", None])
@pytest.mark.cli
def test_calibrate_refuses_emulated_latencies(tmp_path: Path, provenance: str | None) -> None:
    entry = {"model": "x.tflite", "latency_ms": 12.5, "provenance": provenance}
    path = tmp_path / "m.json"
    path.write_text(json.dumps([{k: v for k, v in entry.items() if v is not None}]), "utf-8")
    result = run_cli("calibrate", "--device", "stm32", path, "--write", tmp_path / "out")
    assert_one_line_error(result, f"provenance {provenance!r} refused", "measured")
    assert not (tmp_path / "out").exists()


@slow_without_fixtures
@pytest.mark.cli
def test_calibrate_never_writes_into_the_builtin_catalogue(measured: Path) -> None:
    before = (ROOT / "devices" / "nucleo-f446re.toml").read_bytes()
    result = run_cli("calibrate", "--device", "nucleo-f446re", measured,
                     "--write", ROOT / "devices")  # fmt: skip
    assert_one_line_error(result, "builtin board catalogue", "user devices folder")
    assert (ROOT / "devices" / "nucleo-f446re.toml").read_bytes() == before
