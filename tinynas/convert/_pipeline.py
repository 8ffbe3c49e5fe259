"""Architecture (+ trained torch weights) -> verified int8 TFLite, in one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinynas.convert._tflite import to_int8_tflite
from tinynas.convert._tflm import ArenaReport, measure_arena, run_tflm
from tinynas.space import Architecture
from tinynas.tflite_file import verify_tflite

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet


@dataclass(frozen=True)
class Conversion:
    """A converted model and what TFLM measured of it."""

    tflite: bytes
    arena: ArenaReport  # measured in TFLM (x86 reference build)
    tflm_outputs: np.ndarray  # int8 outputs of TFLM on the check inputs
    reference_outputs: np.ndarray  # int8 outputs of LiteRT's reference kernels, same inputs
    input_scale: float
    input_zero_point: int

    @property
    def flash_bytes(self) -> int:
        return len(self.tflite)

    @property
    def max_output_diff_lsb(self) -> int:
        """Largest difference between TFLM's and LiteRT's int8 outputs, in quantisation steps."""
        diff = self.tflm_outputs.astype(np.int16) - self.reference_outputs.astype(np.int16)
        return int(np.abs(diff).max(initial=0))


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float inputs -> the int8 inputs the model takes (TFLite affine quantisation)."""
    q = np.round(np.asarray(x, np.float32) / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def litert_reference(model: bytes, inputs: np.ndarray) -> np.ndarray:
    """int8 outputs of LiteRT with its reference kernels (bit-exact with TFLM).

    LiteRT runs in this process: it only ever gets models tinynas wrote itself, after the
    structural check of :func:`~tinynas.tflite_file.verify_tflite`.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    verify_tflite(model)
    interp = Interpreter(
        model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF
    )
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    outs = []
    for x in inputs:
        interp.set_tensor(inp["index"], x[None])
        interp.invoke()
        outs.append(interp.get_tensor(out["index"])[0].copy())
    return np.stack(outs)


def convert_architecture(
    arch: Architecture,
    representative: np.ndarray,
    net: TorchNet | None = None,
    check_inputs: int = 8,
) -> Conversion:
    """Builds the Keras twin of `arch` with the weights of `net` (a fresh torch module when
    None), converts it to int8, and runs it in TFLM and in LiteRT's reference kernels.

    Args:
        arch: the architecture.
        representative: float samples (N, *input_shape) for calibration; the first
            `check_inputs` of them are also run through both interpreters.
        net: trained weights; eval mode is set here.
    """
    from tinynas.space.keras_builder import build_keras, copy_weights
    from tinynas.space.torch_builder import build_torch

    net = net if net is not None else build_torch(arch)
    net.eval()
    model = build_keras(arch)
    copy_weights(net, model)
    tflite = to_int8_tflite(model, representative, arch=arch)
    scale, zero_point = input_quantization(tflite)
    x = quantize_input(representative[:check_inputs], scale, zero_point)
    return Conversion(
        tflite, measure_arena(tflite), run_tflm(tflite, x), litert_reference(tflite, x),
        scale, zero_point,
    )


def input_quantization(model: bytes) -> tuple[float, int]:
    from ai_edge_litert.interpreter import Interpreter

    verify_tflite(model)  # LiteRT in this process: see litert_reference
    detail = Interpreter(model_content=model).get_input_details()[0]
    scale, zero_point = detail["quantization"]
    return float(scale), int(zero_point)
