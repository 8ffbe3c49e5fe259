"""Verification of an exported int8 model against LiteRT's reference kernels and the float net.

The int8 model is run in the TFLite Micro interpreter (the runtime the board runs) and in
LiteRT with its reference kernels on the same int8 inputs. The two are not bit-identical: their
kernels do not round every requantisation the same way, so an output may differ by one
quantisation step (seen on about 0.4 % of the output elements of a small digits CNN). A
difference of more than :data:`MAX_DIFF_LSB` steps is an error. Accuracy is that of the
TFLM outputs (argmax against the labels); agreement with the float torch network is the share
of inputs whose argmax is the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynas.convert import litert_reference, quantize_input, run_tflm
from tinynas.errors import ConversionError

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet

MAX_DIFF_LSB = 1
_BATCH = 256


class ExportError(ConversionError):
    """An export that cannot be made or does not verify: bad inputs, or an int8 model whose
    TFLM outputs disagree with LiteRT's reference kernels."""


@dataclass(frozen=True)
class Verification:
    """What running the int8 model on the verification inputs showed (all measured)."""

    samples: int  # inputs run through TFLM, LiteRT and the float net
    inputs_source: str  # "test inputs" or "calibration samples"
    max_diff_lsb: int  # largest |TFLM - LiteRT reference| int8 output difference
    differing_outputs: int  # output elements where TFLM and LiteRT differ
    output_elements: int
    reference_argmax_agreement: float  # share of inputs where TFLM's argmax = LiteRT's
    float_argmax_agreement: float  # share of inputs where TFLM's argmax = the float net's
    int8_accuracy: float | None  # TFLM argmax against the labels; None without labels
    float_accuracy: float | None  # torch float net against the labels; None without labels

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def float_logits(net: TorchNet, inputs: np.ndarray) -> np.ndarray:
    """The float network's outputs, in eval mode, in batches."""
    import torch

    from tinynas.train import predict_logits

    return predict_logits(net, torch.from_numpy(np.asarray(inputs, np.float32)), _BATCH).numpy()


def verify_int8(
    tflite: bytes,
    net: TorchNet,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    quantization: tuple[float, int],
    inputs_source: str = "test inputs",
) -> Verification:
    """Run `inputs` through TFLM, LiteRT's reference kernels and `net`; compare.

    Args:
        tflite: The int8 model.
        net: The float torch network it was converted from.
        inputs: Float inputs (N, *input_shape), quantised here with the model's input scale.
        labels: Class indices (N,), or None.
        quantization: The model's input (scale, zero point).
        inputs_source: What the inputs are, for the model card.

    Raises:
        ExportError: TFLM and LiteRT differ by more than :data:`MAX_DIFF_LSB` steps.
    """
    q = quantize_input(inputs, *quantization)
    tflm, reference = run_tflm(tflite, q), litert_reference(tflite, q)
    diff = np.abs(tflm.astype(np.int16) - reference.astype(np.int16))
    max_diff = int(diff.max(initial=0))
    if max_diff > MAX_DIFF_LSB:
        raise ExportError(
            f"the int8 model's TFLM outputs differ from LiteRT's reference kernels by {max_diff} "
            f"quantisation steps (at most {MAX_DIFF_LSB} is expected from rounding); "
            "the model is not exported: report this with the architecture JSON"
        )
    predicted = tflm.argmax(axis=1)
    float_predicted = float_logits(net, inputs).argmax(axis=1)
    return Verification(
        samples=len(inputs),
        inputs_source=inputs_source,
        max_diff_lsb=max_diff,
        differing_outputs=int(np.count_nonzero(diff)),
        output_elements=int(diff.size),
        reference_argmax_agreement=float(np.mean(predicted == reference.argmax(axis=1))),
        float_argmax_agreement=float(np.mean(predicted == float_predicted)),
        int8_accuracy=_accuracy(predicted, labels),
        float_accuracy=_accuracy(float_predicted, labels),
    )


def _accuracy(predicted: np.ndarray, labels: np.ndarray | None) -> float | None:
    return None if labels is None else float(np.mean(predicted == np.asarray(labels)))
