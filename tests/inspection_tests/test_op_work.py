"""The arithmetic of single ops from their shapes, counted by hand; and what the latency model
does with ops it has no cost for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tinynas.devices import get_device
from tinynas.estimators import OpCost, predict_latency
from tinynas.tflite_file import DATA_OPS, ELEMENT_OPS, MAC_OPS, op_work


def no_options(table: str) -> Any:
    return None


def options(**fields: int) -> Any:
    """An options reader whose table answers the given fields (FilterHeight=3, ...)."""
    table = SimpleNamespace(**{k: (lambda v=v: v) for k, v in fields.items()})
    return lambda name: table


def test_the_kinds_do_not_overlap() -> None:
    assert not (MAC_OPS & ELEMENT_OPS) and not (MAC_OPS & DATA_OPS)
    assert not (ELEMENT_OPS & DATA_OPS)


def test_an_lstm_with_cifg_peepholes_projection_and_layer_norm() -> None:
    cells, features, outputs, batch, time = 5, 3, 2, 2, 7
    inputs: list[tuple[int, ...] | None] = [None] * 24
    inputs[0] = (batch, time, features)
    for i in (2, 3, 4):  # no input gate (CIFG)
        inputs[i] = (cells, features)
    for i in (6, 7, 8):
        inputs[i] = (cells, outputs)
    inputs[10] = inputs[11] = (cells,)  # peepholes of the forget and output gates
    inputs[16] = (outputs, cells)  # projection
    inputs[21] = inputs[22] = inputs[23] = (cells,)  # layer norm of three gates
    work = op_work("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, (batch, time, outputs), no_options)
    per_step = 3 * cells * features + 3 * cells * outputs + 2 * cells + outputs * cells
    assert work.macs == batch * time * per_step
    per_step_elements = cells * (2 * 3 + 5) + cells + 4 * cells * 3
    assert (work.element_ops, work.kind) == (batch * time * per_step_elements, "mac")


def test_an_svdf_counts_its_feature_and_time_products() -> None:
    batch, input_size, filters, memory, units = 1, 40, 64, 8, 32  # rank 2
    inputs = [(batch, input_size), (filters, input_size), (filters, memory), (units,),
              (batch, memory * filters)]  # fmt: skip
    work = op_work("SVDF", inputs, (batch, units), no_options)
    assert work.macs == filters * input_size + filters * memory
    assert work.element_ops == filters + 2 * units


@pytest.mark.parametrize(("op", "inputs", "output", "read", "expected"), [
    ("ADD", [(1, 4, 4, 8), (1, 4, 4, 8)], (1, 4, 4, 8), no_options, 128),
    ("ADD_N", [(1, 10), (1, 10), (1, 10)], (1, 10), no_options, 20),
    ("MAX_POOL_2D", [(1, 8, 8, 3)], (1, 4, 4, 3), options(FilterHeight=3, FilterWidth=2), 288),
    ("MEAN", [(1, 5, 5, 16), (2,)], (1, 16), no_options, 400),
    ("SOFTMAX", [(1, 12)], (1, 12), no_options, 12),
    ("RESIZE_BILINEAR", [(1, 2, 2, 1), (2,)], (1, 4, 4, 1), no_options, 64),
    ("QUANTIZE", [(1, 49, 10, 1)], (1, 49, 10, 1), no_options, 490),
])  # fmt: skip
def test_element_ops_per_output_window_or_input(
    op: str, inputs: list[tuple[int, ...]], output: tuple[int, ...], read: Any, expected: int,
) -> None:  # fmt: skip
    work = op_work(op, inputs, output, read)
    assert (work.macs, work.element_ops, work.kind) == (0, expected, "element")


@pytest.mark.parametrize("op", ["RESHAPE", "CONCATENATION", "TRANSPOSE", "PAD", "GATHER"])
def test_data_ops_compute_nothing(op: str) -> None:
    assert op_work(op, [(1, 8, 8, 4), (4,)], (1, 8, 32), no_options).kind == "data"


@pytest.mark.parametrize("op", ["CUSTOM:TFLite_Detection_PostProcess", "WHILE", "BUILTIN_250"])
def test_ops_without_a_count_are_unknown(op: str) -> None:
    work = op_work(op, [(1, 100, 4)], (1, 10, 4), no_options)
    assert (work.macs, work.element_ops, work.kind) == (0, 0, "unknown")


def test_a_prediction_lists_the_ops_it_has_no_cost_for() -> None:
    board = get_device("stm32")
    ops = [OpCost("CONV_2D", 10_000, 100), OpCost("UNIDIRECTIONAL_SEQUENCE_LSTM", 6_912, 96),
           OpCost("UNIDIRECTIONAL_SEQUENCE_LSTM", 6_912, 96), OpCost("RESHAPE", 0, 96),
           OpCost("CUSTOM:Mine", 0, 10, counted=False)]  # fmt: skip
    prediction = predict_latency(ops, board)
    assert prediction.partial
    assert prediction.uncovered_counts == {"UNIDIRECTIONAL_SEQUENCE_LSTM": 2, "CUSTOM:Mine": 1}
    assert prediction.uncovered_text() == "UNIDIRECTIONAL_SEQUENCE_LSTM x2, CUSTOM:Mine"
    covered = predict_latency(ops[:1] + ops[3:4], board)
    assert not covered.partial and covered.cycles < prediction.cycles  # a lower bound
