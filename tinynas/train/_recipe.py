"""The training recipes of a search: what a dataset's training draws, and the distilled pair."""

from __future__ import annotations

from dataclasses import replace

from tinynas.train._loop import TrainConfig

LONG_TRAINING_EPOCHS = 30  # from here on the recipe regularises (recipe_for)
DISTILL_WEIGHT = 0.9  # Hinton et al.; beat 0.5 on Fashion-MNIST (docs/benchmarks.md)
# A teacher epoch costs several student epochs on a CPU (_distill.py: ~7x the MACs of a
# 64 KB network), and 30 epochs take the Fashion-MNIST teacher to 93.9% (docs/benchmarks.md).
TEACHER_MAX_EPOCHS = 30.0


def recipe_for(dataset: str, epochs: float) -> TrainConfig:
    """The training recipe of a search on `dataset`: Fashion-MNIST's classes survive a mirror
    image, so its training draws flips. Random shifts are not drawn: 2-pixel shifts cost 3
    points after 4 epochs on 6,000 images and changed nothing after 15 epochs on 60,000
    (docs/benchmarks.md, the μNAS reference point). A long training (LONG_TRAINING_EPOCHS or
    more) is regularised: random erasing with p = 0.5 (Zhong et al.,
    AAAI 2020, whose Fashion-MNIST error fell from 6.21% to 5.04% with it on ResNet-20) and
    label smoothing 0.1 (Szegedy et al. 2016); a short one would only learn slower. The
    halving rungs of a run use its recipe, so they compare candidates under the regularisation
    the winner will be trained with."""
    long = epochs >= LONG_TRAINING_EPOCHS
    return TrainConfig(epochs=epochs, flip=dataset == "fashion-mnist",
                       erase_p=0.5 if long else 0.0, label_smoothing=0.1 if long else 0.0)


def distilled_recipes(recipe: TrainConfig) -> tuple[TrainConfig, TrainConfig]:
    """(the winner's recipe, the teacher's) for a distilled final training from the run's
    `recipe`. The winner's loss takes DISTILL_WEIGHT from the teacher's soft targets, which
    replace label smoothing; the teacher trains without label smoothing, which erases the
    information in its wrong-class logits that distillation transfers (Müller et al., NeurIPS
    2019), and for at most TEACHER_MAX_EPOCHS."""
    winner = replace(recipe, label_smoothing=0.0, distill_weight=DISTILL_WEIGHT)
    teacher = replace(recipe, label_smoothing=0.0, epochs=min(recipe.epochs, TEACHER_MAX_EPOCHS))
    return winner, teacher
