"""Estimates against the real artefacts: the .tflite file and the TFLM arena.

A CI-sized subset of benchmarks/estimator_accuracy.py (which runs 200 architectures).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tinynas.convert import convert_architecture, measure_arena, quantize_input, run_tflm
from tinynas.estimators import arena, estimate, flash_bytes, tflite_graph
from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling, SpaceConfig, sample
from tinynas.space.torch_builder import build_torch
from tinynas.testing.weights import trained_like
from tinynas.tflite_file import read_tflite

pytestmark = pytest.mark.slow

CASES = [  # (input shape, seed): images, audio-like, 1-D, channels-last 1-D
    ((28, 28, 1), 11),
    ((32, 32, 3), 12),
    ((49, 10, 1), 13),
    ((640,), 14),
    ((64, 3), 15),
    ((28, 28, 1), 21),
]
CONFIG = SpaceConfig(max_blocks=5, max_filters=48, max_units=96)


def _branched() -> Architecture:
    conv = ConvLayer("conv2d", 3, 8, 2, batch_norm=True)
    return Architecture(
        (28, 28, 1), 10,
        (
            ConvBlock((conv,)),
            ConvBlock((ConvLayer("dwconv2d", 5, 0, 2, pre_pool=True), ConvLayer("conv2d", 3, 8)),
                      parallel=True),
            ConvBlock((ConvLayer("dwconv2d", 3, 0, 2, relu=False, pre_pool=True),), parallel=True),
            ConvBlock((ConvLayer("1x1conv2d", 1, 12, 1, batch_norm=True),)),
        ),
        Pooling("avg", 4),
        (20,),
    )


def _global_pooled() -> list[Architecture]:
    """Networks that end in a global average pooling, over a 2-D map and a 1-D sequence."""
    conv = ConvLayer("conv2d", 3, 8, 2, batch_norm=True)
    return [
        Architecture((28, 28, 1), 10, (ConvBlock((conv,)),
                                       ConvBlock((ConvLayer("dwconv2d", 3, 0, 1),))),
                     Pooling("global", 0), ()),
        Architecture((640,), 4, (ConvBlock((ConvLayer("conv2d", 5, 6, 2),)),),
                     Pooling("global", 0), (16,)),
    ]  # fmt: skip


def _convert(arch: Architecture, seed: int):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    samples = np.random.default_rng(seed).random((16, *arch.input_shape), np.float32)
    return convert_architecture(arch, samples, trained_like(build_torch(arch), seed))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    archs = [sample(shape, 10, random.Random(seed), CONFIG) for shape, seed in CASES]
    archs.append(_branched())
    archs += _global_pooled()
    out = []
    for k, arch in enumerate(archs):
        result = _convert(arch, k)
        path = tmp_path_factory.mktemp("m") / "model.tflite"
        path.write_bytes(result.tflite)
        out.append((arch, result, path))
    return out


def test_flash_estimate_within_2_percent_of_file_size(converted: list) -> None:  # type: ignore[type-arg]
    for arch, result, _ in converted:
        assert abs(flash_bytes(arch) - result.flash_bytes) <= 0.02 * result.flash_bytes


def test_arena_estimate_within_5_percent_of_tflm(converted: list) -> None:  # type: ignore[type-arg]
    for arch, result, _ in converted:
        tflm_bytes = result.arena.total_bytes
        assert abs(arena(arch).total_bytes - tflm_bytes) <= 0.05 * tflm_bytes


def test_planned_head_equals_tflm_head(converted: list) -> None:  # type: ignore[type-arg]
    # The activation plan is TFLM's greedy planner restated: it must agree to the byte.
    for arch, result, _ in converted:
        assert arena(arch).head_bytes == result.arena.head_bytes


def test_converted_ops_run_in_the_graph_order(converted: list) -> None:  # type: ignore[type-arg]
    for arch, _, path in converted:
        model = read_tflite(path)
        assert [op.op for op in model.ops] == [op.op for op in tflite_graph(arch).ops]
        assert model.macs == estimate(arch).macs


def test_global_pooling_is_one_average_pooling_over_the_whole_map(converted: list) -> None:  # type: ignore[type-arg]
    pooled = [path for arch, _, path in converted
              if arch.pooling is not None and arch.pooling.type == "global"]  # fmt: skip
    assert len(pooled) == 2
    for path in pooled:
        model = read_tflite(path)
        pool = next(op for op in model.ops if op.op == "AVERAGE_POOL_2D")
        map_shape = pool.input_shapes[0]
        assert pool.output_shape == (1, 1, 1, map_shape[-1])  # 1 x 1 x C: the whole map
        assert pool.element_ops == map_shape[1] * map_shape[2] * map_shape[3]
        assert "MEAN" not in {op.op for op in model.ops}


def test_cortex_m_arena_of_the_file_equals_that_of_the_architecture(converted: list) -> None:  # type: ignore[type-arg]
    from tinynas.estimators import cortex_m_arena, cortex_m_file_arena, file_op_costs, op_costs

    for arch, _, path in converted:
        model = read_tflite(path)
        assert cortex_m_file_arena(model) == cortex_m_arena(arch)
        assert [c.window_elements for c in file_op_costs(model)] == [
            c.window_elements for c in op_costs(tflite_graph(arch))]


def test_model_is_full_integer_and_tflm_agrees_with_litert(converted: list) -> None:  # type: ignore[type-arg]
    for _, result, path in converted:
        model = read_tflite(path)
        assert model.input_dtype == "int8" and model.output_dtype == "int8"
        assert result.max_output_diff_lsb <= 1


def test_tflm_outputs_follow_the_float_network() -> None:
    """The int8 model computes what the torch network computes: argmax agreement on inputs
    of the calibration distribution."""
    arch = _branched()
    torch.manual_seed(0)
    net = build_torch(arch).eval()
    samples = np.random.default_rng(0).random((64, 28, 28, 1), np.float32)
    result = convert_architecture(arch, samples, net)
    x = quantize_input(samples, result.input_scale, result.input_zero_point)
    int8_out = run_tflm(result.tflite, x)
    with torch.no_grad():
        float_out = net(torch.from_numpy(samples)).numpy()
    agree = np.mean(int8_out.argmax(1) == float_out.argmax(1))
    assert agree >= 0.8
    assert measure_arena(result.tflite).total_bytes == result.arena.total_bytes
