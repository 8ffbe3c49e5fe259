"""Training: a plain torch loop whose recipe is a `TrainConfig`, the recipes a search trains
with (`recipe_for`, `distilled_recipes`), and the distillation teacher."""

from __future__ import annotations

from tinynas.train._cost import measure_epoch_seconds
from tinynas.train._distill import soft_targets, teacher_architecture
from tinynas.train._loop import (
    SoftTargets,
    TrainConfig,
    TrainResult,
    evaluate,
    fit_inputs,
    lr_at,
    pick_device,
    predict_logits,
    train,
)
from tinynas.train._recipe import (
    DISTILL_WEIGHT,
    LONG_TRAINING_EPOCHS,
    TEACHER_MAX_EPOCHS,
    distilled_recipes,
    recipe_for,
)
from tinynas.train._weights import load_net, save_net

__all__ = [
    "DISTILL_WEIGHT",
    "LONG_TRAINING_EPOCHS",
    "TEACHER_MAX_EPOCHS",
    "SoftTargets",
    "TrainConfig",
    "TrainResult",
    "distilled_recipes",
    "evaluate",
    "fit_inputs",
    "load_net",
    "lr_at",
    "measure_epoch_seconds",
    "pick_device",
    "predict_logits",
    "recipe_for",
    "save_net",
    "soft_targets",
    "teacher_architecture",
    "train",
]
