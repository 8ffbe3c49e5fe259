"""The search's training recipe: flips where mirror images keep the class, regularisation only
for long trainings."""

from tinynas.train import LONG_TRAINING_EPOCHS, recipe_for


def test_fashion_mnist_draws_flips_and_digits_does_not() -> None:
    assert recipe_for("fashion-mnist", 10).flip and not recipe_for("digits", 10).flip


def test_short_trainings_are_not_regularised() -> None:
    short = recipe_for("fashion-mnist", LONG_TRAINING_EPOCHS - 0.5)
    assert (short.erase_p, short.label_smoothing) == (0.0, 0.0)


def test_long_trainings_draw_random_erasing_and_label_smoothing() -> None:
    long = recipe_for("fashion-mnist", LONG_TRAINING_EPOCHS)
    assert (long.epochs, long.erase_p, long.label_smoothing) == (LONG_TRAINING_EPOCHS, 0.5, 0.1)
    assert recipe_for("digits", 60).erase_p == 0.5
