"""Bad input to ``tinynas check``: one clear ``error:`` line on stderr and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="module")
def float_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real float32 .tflite (no quantisation), made by TensorFlow's converter."""
    import tensorflow as tf

    inputs = tf.keras.Input(shape=(8,), batch_size=1)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(3)(inputs))
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path = tmp_path_factory.mktemp("float") / "float_model.tflite"
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path: Path, run_cli: Any, one_line_error: Any) -> None:
    result = run_cli("check", tmp_path / "nope.tflite", "--device", "stm32")
    one_line_error(result, "nope.tflite", "not found")


def test_truncated_file(
    fixtures_dir: Path, tmp_path: Path, run_cli: Any, one_line_error: Any
) -> None:
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((fixtures_dir / "kws_ref_model.tflite").read_bytes()[:20_000])
    one_line_error(run_cli("check", cut, "--device", "stm32"), "cut.tflite", "truncated")


def test_not_a_flatbuffer(tmp_path: Path, run_cli: Any, one_line_error: Any) -> None:
    junk = tmp_path / "notes.tflite"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    one_line_error(run_cli("check", junk, "--device", "stm32"), "not a TFLite model")


@pytest.mark.slow
def test_a_float_model_is_gated_with_its_types(float_model: Path, run_cli: Any) -> None:
    result = run_cli("check", float_model, "--device", "stm32", "--json")
    assert result.returncode == 0, result.stderr
    check = json.loads(result.stdout)["checks"][0]
    assert check["types"] == {"kind": "float", "input": "float32", "output": "float32",
                              "activations": ["float32"], "weights": ["float32"]}
    arena = next(r for r in check["rows"] if r["resource"] == "ram")["parts"]["TFLM arena"]
    assert arena > 8 * 4  # at least the float input tensor


@pytest.mark.slow
def test_profiling_still_needs_an_int8_model(
    float_model: Path, run_cli: Any, one_line_error: Any
) -> None:
    result = run_cli("profile", float_model, "--emulate", "stm32", "--runs", "1")
    one_line_error(result, "float model", "int8")


def test_unknown_device(fixtures_dir: Path, run_cli: Any, one_line_error: Any) -> None:
    result = run_cli("check", fixtures_dir / "kws_ref_model.tflite", "--device", "nucleo-f446")
    one_line_error(result, "board 'nucleo-f446' not found", "nucleo-f446re")


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--max-ram", "64K", ("--max-ram", "unknown unit 'K'", "KiB")),
        ("--max-flash", "lots", ("--max-flash", "'lots' is not a size")),
        ("--max-ram", "0", ("--max-ram", "more than 0 bytes")),
        ("--max-latency", "fast", ("latency limit 'fast'", "milliseconds")),
        ("--max-latency", "-3", ("latency limit '-3'",)),
    ],
)
def test_nonsense_limit(
    fixtures_dir: Path, run_cli: Any, one_line_error: Any, option: str, value: str,
    words: tuple[str, ...],
) -> None:  # fmt: skip
    result = run_cli("check", fixtures_dir / "kws_ref_model.tflite", "--device", "stm32",
                     option, value)  # fmt: skip
    one_line_error(result, *words)
    assert result.stdout == ""


def test_one_bad_model_among_several_stops_before_any_verdict(
    fixtures_dir: Path, tmp_path: Path, run_cli: Any, one_line_error: Any
) -> None:
    junit = tmp_path / "gate.xml"
    result = run_cli("check", fixtures_dir / "kws_ref_model.tflite", tmp_path / "gone.tflite",
                     "--device", "stm32", "--junit", junit)  # fmt: skip
    one_line_error(result, "gone.tflite")
    assert result.stdout == "" and not junit.exists()


def test_unwritable_junit_file(fixtures_dir: Path, tmp_path: Path, run_cli: Any,
                               one_line_error: Any) -> None:  # fmt: skip
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("check", fixtures_dir / "kws_ref_model.tflite", "--device", "stm32",
                     "--junit", blocker / "gate.xml")  # fmt: skip
    one_line_error(result, "cannot write the JUnit report")
