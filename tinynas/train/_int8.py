"""Accuracy of an int8 model measured with the int8 model itself."""

from __future__ import annotations

import numpy as np

from tinynas.convert import input_quantization, quantize_input


def int8_accuracy(tflite: bytes, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the int8 .tflite on float inputs `x` (quantised as the firmware would),
    run by LiteRT's reference kernels, which agree with TFLM bit for bit."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    scale, zero_point = input_quantization(tflite)
    interp = Interpreter(model_content=tflite,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    q = quantize_input(x, scale, zero_point)
    correct = 0
    for xi, yi in zip(q, y):
        interp.set_tensor(inp["index"], xi[None])
        interp.invoke()
        correct += int(interp.get_tensor(out["index"])[0].argmax() == yi)
    return correct / max(1, len(y))
