"""MACs, params, μNAS peak RAM, arena head and predicted latency against hand computation."""

from __future__ import annotations

import pytest

from tinynas.devices import get_device
from tinynas.estimators import (
    ARENA_CORTEX_M,
    ARENA_X86,
    Buffer,
    arena,
    estimate,
    lifetimes,
    macs,
    params,
    tflite_graph,
    unas_peak_bytes,
)
from tinynas.space import Architecture, ConvBlock, Pooling
from tinynas.testing.archs import conv, dw, pw

# 28x28x1 -> conv 3x3/2 (4) 14x14x4 -> dw 3x3 14x14x4 -> 1x1 (8, BN) 14x14x8
# -> avg pool 2 7x7x8 = 392 -> flatten -> dense 20 -> classifier 10
IMAGE = Architecture(
    (28, 28, 1), 10, (ConvBlock((conv(4, s=2), dw(), pw(8, batch_norm=True))),),
    Pooling("avg", 2), (20,),
)
# op, MACs, output elements, window elements; MACs: conv oh*ow*cout*kh*kw*cin, depthwise
# oh*ow*c*kh*kw, dense in*out (μNAS's formulas); windows: oh*ow*kh*kw, pooling outputs*window
IMAGE_OPS = [
    ("CONV_2D", 14 * 14 * 4 * 3 * 3 * 1, 14 * 14 * 4, 14 * 14 * 3 * 3),
    ("DEPTHWISE_CONV_2D", 14 * 14 * 4 * 3 * 3, 14 * 14 * 4, 14 * 14 * 3 * 3),
    ("CONV_2D", 14 * 14 * 8 * 1 * 1 * 4, 14 * 14 * 8, 14 * 14),
    ("AVERAGE_POOL_2D", 0, 7 * 7 * 8, 7 * 7 * 8 * 2 * 2),
    ("RESHAPE", 0, 392, 0),
    ("FULLY_CONNECTED", 392 * 20, 20, 0),
    ("FULLY_CONNECTED", 20 * 10, 10, 0),
]

# 10x10x1 -> conv 3x3 (3) 10x10x3 = 300 B -> conv 3x3/2 (2) 5x5x2 = 50 B -> flatten 50 B
# -> classifier 10 B
CHAIN = Architecture((10, 10, 1), 10, (ConvBlock((conv(3), conv(2, s=2))),))


def test_macs_follow_the_formulas() -> None:
    assert [(op.op, op.macs) for op in tflite_graph(IMAGE).ops] == [
        (name, m) for name, m, _, _ in IMAGE_OPS
    ]
    assert [op.window_elements for op in tflite_graph(IMAGE).ops] == [w for *_, w in IMAGE_OPS]
    assert macs(IMAGE) == 7056 + 7056 + 6272 + 7840 + 200 == 28424


def test_macs_use_the_clipped_and_1d_kernels() -> None:
    # a 7x7 kernel on a 2x2 map is 2x2: 2*2*3 * 2*2*1 = 48; classifier (2*2*3) * 2
    assert macs(Architecture((2, 2, 1), 2, (ConvBlock((conv(3, k=7),)),))) == 48 + 12 * 2
    # (640,): a k=5 stride-2 conv is 1x5: 1*320*8 * 1*5*1; classifier 2560 * 4
    assert macs(Architecture((640,), 4, (ConvBlock((conv(8, k=5, s=2),)),))) == 12800 + 10240


def test_macs_of_a_parallel_group_count_every_branch() -> None:
    # 8x8x1: serial conv 3x3 (4) 8*8*4*9 = 2304; branch 1x1 (4 channels, as the serial block)
    # 8*8*4 = 256; ADD 0; classifier 256*3 = 768
    arch = Architecture((8, 8, 1), 3, (ConvBlock((conv(4),)), ConvBlock((pw(9),), parallel=True)))
    assert macs(arch) == 2304 + 256 + 768


def test_params_by_hand() -> None:
    # 3*3*1*4 + 4; 3*3*4 + 4; 4*8 + 2*8 (BN scale and shift, no bias); 392*20 + 20; 20*10 + 10
    assert params(IMAGE) == 40 + 40 + 48 + 7860 + 210 == 8198


def test_flatten_of_a_1x1_map_is_folded_into_the_dense_layer() -> None:
    arch = Architecture((4, 4, 2), 3, (ConvBlock((conv(5),)),), Pooling("avg", 6))
    graph = tflite_graph(arch)
    assert [op.op for op in graph.ops] == ["CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    assert graph.ops[2].inputs == (graph.ops[1].output,)
    assert macs(arch) == 4 * 4 * 5 * 9 * 2 + 5 * 3


def test_unas_peak_of_a_chain_by_hand() -> None:
    # input excluded; the peak is the largest in + out of two consecutive layers:
    # conv1 784; dw 784 + 784; 1x1 784 + 1568 = 2352; pool 1568 + 392; flatten in place
    assert unas_peak_bytes(IMAGE) == 2352
    # 300 (input excluded); 300 + 50 = 350; flatten in place: 50; 50 + 10
    assert unas_peak_bytes(CHAIN) == 350


def test_unas_peak_adds_in_place() -> None:
    # two 8x8x4 = 256-byte branch outputs alive together: 512; the ADD writes into one of them
    arch = Architecture((8, 8, 1), 3, (ConvBlock((conv(4),)), ConvBlock((pw(9),), parallel=True)))
    assert unas_peak_bytes(arch) == 512


def test_lifetimes_and_arena_head_of_a_chain() -> None:
    buffers = lifetimes(tflite_graph(CHAIN))
    # sizes aligned to 16; the input is created at scope 0, op k runs at scope k + 1
    assert buffers == [
        Buffer(112, 0, 1),  # input 100 B
        Buffer(304, 1, 2),  # conv1 300 B
        Buffer(64, 2, 3),  # conv2 50 B
        Buffer(64, 3, 4),  # flatten 50 B
        Buffer(16, 4, 4),  # classifier 10 B, the model output
    ]
    # greedy, largest first (304, 112, then the later 64 before the earlier one, 16):
    # conv1 at 0; input overlaps conv1 -> 304; flatten (3-4) -> 0; conv2 (2-3) overlaps conv1
    # and flatten -> 304; classifier (4) overlaps flatten only -> 64. Head = 304 + 112.
    result = arena(CHAIN)
    assert result.head_bytes == 416
    assert result.total_bytes == result.head_bytes + result.tail_bytes
    assert result.tail_bytes > 0


def test_estimate_without_a_device_has_no_latency() -> None:
    est = estimate(IMAGE)
    assert est.latency_ms is None and est.latency_source is None
    assert est.macs == 28424 and est.params == 8198 and est.unas_peak_bytes == 2352
    assert est.arena_bytes == arena(IMAGE).total_bytes
    assert est.arena_source == ARENA_X86 and est.arena_x86_bytes == est.arena_bytes
    d = est.to_dict()
    assert d["provenance"] == {
        **{k: "estimated" for k in ("params", "macs", "flash_bytes", "unas_peak_bytes")},
        "arena_bytes": ARENA_X86, "arena_x86_bytes": ARENA_X86,
    }


def test_estimate_with_a_device_predicts_latency() -> None:
    device = get_device("nucleo-l4r5zi")
    est = estimate(IMAGE, device)
    d = est.to_dict()
    assert d["provenance"]["latency_ms"] == "predicted"
    for key in ("params", "macs", "flash_bytes", "unas_peak_bytes"):
        assert d["provenance"][key] == "estimated"
    assert d["provenance"]["arena_bytes"] == ARENA_CORTEX_M  # the board runs CMSIS-NN
    assert est.latency_source == device.latency.source

    # cycles = per_mac * MACs + per_output * outputs + per_window * windows + per_op, summed,
    # over the core clock
    table = device.latency.ops
    cycles = 0.0
    for op, op_macs, out, window in IMAGE_OPS:
        c = table[op] if op in table else table["default"]
        cycles += (c.cycles_per_mac * op_macs + c.cycles_per_output * out
                   + c.cycles_per_window_element * window + c.cycles_per_op)
    assert est.latency_ms == pytest.approx(1000.0 * cycles / device.clock_hz, rel=1e-12)
    assert est.latency_ms > 0


def test_latency_of_a_parallel_group_counts_the_add() -> None:
    device = get_device("nucleo-l4r5zi")
    table = device.latency.ops
    arch = Architecture((8, 8, 1), 3, (ConvBlock((conv(4),)), ConvBlock((pw(4),), parallel=True)))
    est = estimate(arch, device)
    # (op, MACs, outputs, window elements: 8 x 8 positions x 3 x 3 or 1 x 1 taps)
    ops = [("CONV_2D", 2304, 256, 576), ("CONV_2D", 256, 256, 64), ("ADD", 0, 256, 0),
           ("RESHAPE", 0, 256, 0), ("FULLY_CONNECTED", 768, 3, 0)]
    assert sorted((op.op, op.macs, op.window_elements) for op in tflite_graph(arch).ops) == (
        sorted((o, m, w) for o, m, _, w in ops))
    cycles = 0.0
    for op, op_macs, out, window in ops:
        c = table.get(op, table["default"])
        cycles += (c.cycles_per_mac * op_macs + c.cycles_per_output * out
                   + c.cycles_per_window_element * window + c.cycles_per_op)
    assert est.latency_ms == pytest.approx(1000.0 * cycles / device.clock_hz, rel=1e-12)
