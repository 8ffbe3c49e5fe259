"""Training: a plain torch loop with a fixed recipe, and int8 evaluation."""

from __future__ import annotations

from tinynas.train._distill import soft_targets, teacher_architecture
from tinynas.train._int8 import int8_accuracy
from tinynas.train._loop import (
    SoftTargets,
    TrainConfig,
    TrainResult,
    evaluate,
    fit_inputs,
    pick_device,
    predict_logits,
    train,
)

__all__ = [
    "SoftTargets",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "fit_inputs",
    "int8_accuracy",
    "pick_device",
    "predict_logits",
    "soft_targets",
    "teacher_architecture",
    "train",
]
