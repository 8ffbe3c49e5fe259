"""The Cortex-M (TFLM + CMSIS-NN, 32-bit) arena estimate against the firmware's measured arena
(benchmarks/data/qemu_mps2_an386.jsonl, written by benchmarks/qemu_firmware.py) and the
CMSIS-NN scratch-buffer rules against hand computation."""

from __future__ import annotations

import json
import random

import pytest
from helpers import REPO_ROOT, mlperf_tiny_dir

from tinynas.estimators import (
    cmsis_avg_pool_scratch_bytes,
    cmsis_conv_scratch_bytes,
    cmsis_depthwise_scratch_bytes,
    cortex_m_arena,
    cortex_m_file_arena,
    cortex_m_ops,
)
from tinynas.space import Architecture, ConvBlock, Pooling, SpaceConfig, sample
from tinynas.testing.archs import conv, dw, pw
from tinynas.tflite_file import read_tflite

MEASURED = REPO_ROOT / "benchmarks" / "data" / "qemu_mps2_an386.jsonl"
# complete lines only: the benchmark may be appending to the file
ROWS = [json.loads(line) for line in MEASURED.read_text().split("\n")[:-1] if line] if (
    MEASURED.is_file()) else []
MAX_ERROR = 0.01

# how benchmarks/qemu_firmware.py samples architecture `seed` (its SHAPES and CONFIG); each
# row's content hash proves the rebuild
SHAPES = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (96, 96, 1), (640,), (64, 3)]
CONFIG = SpaceConfig(max_blocks=6, max_filters=64, max_units=128)


def _rows(prefix: str) -> list[dict]:
    return [r for r in ROWS if r["id"].startswith(prefix)]


def _relative_error(estimated: int, row: dict) -> float:
    return abs(estimated - row["arena_firmware_bytes"]) / row["arena_firmware_bytes"]


@pytest.mark.skipif(not ROWS, reason=f"no measurements in {MEASURED}")
@pytest.mark.parametrize("row", _rows("arch:"), ids=lambda r: r["id"])
def test_sampled_architectures_match_the_firmware(row: dict) -> None:
    seed = row["seed"]
    arch = sample(SHAPES[seed % len(SHAPES)], 10, random.Random(seed), CONFIG)
    assert arch.content_hash == row["hash"]
    estimate = cortex_m_arena(arch)
    assert _relative_error(estimate.total_bytes, row) <= MAX_ERROR, (
        f"{row['id']}: {estimate.total_bytes} B estimated, {row['arena_firmware_bytes']} B "
        "measured"
    )


@pytest.mark.skipif(not ROWS, reason=f"no measurements in {MEASURED}")
@pytest.mark.parametrize("row", _rows("mlperf:"), ids=lambda r: r["id"])
def test_mlperf_tiny_models_match_the_firmware(row: dict) -> None:
    model = read_tflite(mlperf_tiny_dir() / f"{row['id'].removeprefix('mlperf:')}.tflite")
    assert model.data and len(model.data) == row["model_bytes"]
    estimate = cortex_m_file_arena(model)
    assert _relative_error(estimate.total_bytes, row) <= MAX_ERROR, (
        f"{row['id']}: {estimate.total_bytes} B estimated, {row['arena_firmware_bytes']} B "
        "measured"
    )


def test_convolution_scratch_is_the_im2col_buffer() -> None:
    # arm_convolve_s8_get_buffer_size: 2 columns * align4(kh * kw * cin) int16
    assert cmsis_conv_scratch_bytes(1, (3, 3), (1, 1)) == 2 * 12 * 2 == 48
    assert cmsis_conv_scratch_bytes(16, (3, 3), (1, 1)) == 2 * 144 * 2 == 576
    assert cmsis_conv_scratch_bytes(3, (1, 5), (0, 2)) == 2 * 16 * 2 == 64  # the 1xN path
    # 1x1: the fast path's buffer is for Arm Compiler 6 only, the strided path has none
    assert cmsis_conv_scratch_bytes(32, (1, 1), (0, 0)) == 0


def test_depthwise_scratch_only_off_the_3x3_kernel() -> None:
    assert cmsis_depthwise_scratch_bytes(8, 8, (3, 3), (1, 1)) == 0  # arm_depthwise_conv_3x3_s8
    assert cmsis_depthwise_scratch_bytes(8, 8, (5, 5), (2, 2)) == 2 * 8 * 25 == 400
    assert cmsis_depthwise_scratch_bytes(3, 3, (1, 7), (0, 3)) == 2 * 3 * 7 == 42
    assert cmsis_depthwise_scratch_bytes(8, 16, (5, 5), (2, 2)) == 0  # depth multiplier 2


def test_avg_pool_scratch_is_one_int32_per_channel() -> None:
    assert cmsis_avg_pool_scratch_bytes(24) == 96


def test_ops_of_an_architecture_carry_their_kernel_buffers() -> None:
    # 16x16x1 -> conv 3x3 (4) -> dw 5x5 -> 1x1 (8) -> avg pool 2 -> flatten -> classifier 4
    arch = Architecture((16, 16, 1), 4, (ConvBlock((conv(4), dw(k=5), pw(8))),),
                        Pooling("avg", 2))  # fmt: skip
    assert [(op.op, op.channels, op.scratch_bytes) for op in cortex_m_ops(arch)] == [
        ("CONV_2D", 4, 48),
        ("DEPTHWISE_CONV_2D", 4, 2 * 4 * 25),
        ("CONV_2D", 8, 0),
        ("AVERAGE_POOL_2D", 0, 4 * 8),
        ("RESHAPE", 0, 0),
        ("FULLY_CONNECTED", 4, 0),
    ]


def test_arena_of_a_dense_model_by_hand() -> None:
    # tail, each allocation moving the tail down and aligning it: allocator structs
    # 36 + 44 + 36 + 8 + 8 = 132; 4 eval tensors 48 -> 180; one node 32 -> 212; FC params 5
    # -> 217; FC OpData 72 at 16 -> 304; multiplier and shift 16 each -> 336; input: pointer
    # at 16 -> 352, TfLiteTensor 32, quantisation 12, zero point 8 -> 404; output: pointer
    # -> 416, 32 + 12 + 8 -> 468. Head: input 8 B and output 4 B, 16 each, both live at op 1.
    estimate = cortex_m_arena(Architecture((8,), 4, ()))
    assert (estimate.head_bytes, estimate.tail_bytes) == (32, 468)
