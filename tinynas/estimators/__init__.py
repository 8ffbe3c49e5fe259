"""Resource estimators: pure functions of the architecture, no tensors and no TensorFlow.

`estimate(arch, device)` gathers them; every figure it returns is an estimate (flash, arena,
MACs, params) or a prediction (latency), never a measurement. Its arena is the one the device
allocates: the 32-bit Cortex-M figure with CMSIS-NN kernels (`cortex_m_arena`) for a board that
runs TFLM with CMSIS-NN, else TFLM's x86 reference build (`arena`); `arena_source` says which.
"""

from __future__ import annotations

from tinynas.estimators._budget import Budget
from tinynas.estimators._calibrate import (
    Calibration,
    CalibrationError,
    CycleParameters,
    EmulatedLatencyError,
    LatencySample,
    Prior,
    calibrate_device,
    latency_toml,
    leave_one_out,
    load_measurements,
    mlperf_reference_samples,
    predict_cycles,
    sample_from_file,
    with_source,
)
from tinynas.estimators._cortex_m import (
    CortexMOp,
    cmsis_avg_pool_scratch_bytes,
    cmsis_conv_scratch_bytes,
    cmsis_depthwise_scratch_bytes,
    cortex_m_arena,
    cortex_m_file_arena,
    cortex_m_ops,
)
from tinynas.estimators._estimate import (
    ARENA_CORTEX_M,
    ARENA_X86,
    Estimate,
    cortex_m_board,
    estimate,
)
from tinynas.estimators._latency import (
    LatencyPrediction,
    OpCost,
    file_op_costs,
    op_costs,
    predict_latency,
)
from tinynas.estimators._planner import Buffer, align_up, plan
from tinynas.estimators._resources import (
    ArenaEstimate,
    arena,
    flash_bytes,
    lifetimes,
    macs,
    params,
    unas_peak_bytes,
)
from tinynas.estimators._tflite_graph import Activation, Op, TFLiteGraph, tflite_graph

__all__ = [
    "ARENA_CORTEX_M",
    "ARENA_X86",
    "Activation",
    "ArenaEstimate",
    "Budget",
    "Buffer",
    "Calibration",
    "CalibrationError",
    "CortexMOp",
    "CycleParameters",
    "EmulatedLatencyError",
    "Estimate",
    "LatencyPrediction",
    "LatencySample",
    "Op",
    "OpCost",
    "Prior",
    "TFLiteGraph",
    "align_up",
    "arena",
    "calibrate_device",
    "cmsis_avg_pool_scratch_bytes",
    "cmsis_conv_scratch_bytes",
    "cmsis_depthwise_scratch_bytes",
    "cortex_m_arena",
    "cortex_m_board",
    "cortex_m_file_arena",
    "cortex_m_ops",
    "estimate",
    "file_op_costs",
    "flash_bytes",
    "latency_toml",
    "leave_one_out",
    "lifetimes",
    "load_measurements",
    "macs",
    "mlperf_reference_samples",
    "op_costs",
    "params",
    "plan",
    "predict_cycles",
    "predict_latency",
    "sample_from_file",
    "tflite_graph",
    "unas_peak_bytes",
    "with_source",
]
