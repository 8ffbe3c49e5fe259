"""The catalogue's Cortex-M latency model against the instructions the real firmware ran in
QEMU (benchmarks/data/qemu_mps2_an386.jsonl; the coefficients come from
benchmarks/instruction_model.py, fitted on the even seeds). Instruction counts are emulated,
not cycles: the checks are scale-free (one cycles-per-instruction factor for all models)."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from helpers import mlperf_tiny_dir
from test_cortex_m_arena import CONFIG, ROWS, SHAPES

from tinynas.devices import load_catalogue
from tinynas.estimators import file_op_costs, op_costs, predict_latency, tflite_graph
from tinynas.space import sample
from tinynas.tflite_file import read_tflite

pytestmark = pytest.mark.skipif(not ROWS, reason="no firmware measurements")
HELD_ASIDE = [r for r in ROWS if r.get("split") == "test"]


def _arch(row: dict):  # noqa: ANN202 (an Architecture)
    seed = row["seed"]
    arch = sample(SHAPES[seed % len(SHAPES)], 10, random.Random(seed), CONFIG)
    assert arch.content_hash == row["hash"]
    return arch


def _measured_windows(row: dict) -> list[int]:
    """Window elements of each measured op, from the shapes the firmware ran."""
    out = []
    for op in row["ops"]:
        if op["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _, kernel_h, kernel_w, _ = op["input_shapes"][1]
            out.append(math.prod(op["output_shape"][:-1]) * kernel_h * kernel_w)
        elif op["op"] in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            out.append(op["element_ops"])
        else:
            out.append(0)
    return out


def test_held_aside_architectures_are_predicted_within_the_stated_error() -> None:
    l4 = load_catalogue()["nucleo-l4r5zi"]
    ratios = [predict_latency(op_costs(tflite_graph(_arch(r))), l4).cycles / r["run_instructions"]
              for r in HELD_ASIDE]  # fmt: skip
    cpi = statistics.median(ratios)  # cycles per instruction the predictions imply
    errors = [abs(r / cpi - 1) for r in ratios]
    assert len(HELD_ASIDE) >= 75
    assert 1.5 < cpi < 3.0  # a Cortex-M4 running TFLM + CMSIS-NN
    assert statistics.median(errors) <= 0.12 and max(errors) <= 0.45, (
        statistics.median(errors), max(errors))


@pytest.mark.parametrize("row", HELD_ASIDE[:20], ids=lambda r: r["id"])
def test_architecture_window_elements_are_the_firmware_ops(row: dict) -> None:
    costs = op_costs(tflite_graph(_arch(row)))
    assert [c.op for c in costs] == [op["op"] for op in row["ops"]]
    assert [c.window_elements for c in costs] == _measured_windows(row)
    assert [c.macs for c in costs] == [op["macs"] for op in row["ops"]]


@pytest.mark.parametrize("row", [r for r in ROWS if r["split"] == "mlperf"],
                         ids=lambda r: r["id"])  # fmt: skip
def test_file_window_elements_are_the_firmware_ops(row: dict) -> None:
    path = mlperf_tiny_dir() / f"{row['id'].split(':', 1)[1]}.tflite"
    if not path.is_file():
        pytest.skip(f"MLPerf Tiny fixtures not found at {path.parent}")
    costs = file_op_costs(read_tflite(path))
    assert [c.window_elements for c in costs] == _measured_windows(row)
