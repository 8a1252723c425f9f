"""Small Trainer subclasses and callbacks, one hook each."""

import functools

from .adversarial import AdversarialMixin
from .distillation import DistillationMixin
from .trainers import ClassWeightedTrainer, PairwiseRewardTrainer, RecipeTrainer

__all__ = [
    "AdversarialMixin",
    "ClassWeightedTrainer",
    "DistillationMixin",
    "PairwiseRewardTrainer",
    "RecipeTrainer",
    "with_methods",
]


@functools.cache
def with_methods(trainer_class: type) -> type:
    """`trainer_class` with the training methods' hooks on top: adversarial training (`training_step`:
    its extra passes call `compute_loss`) over distillation (`compute_loss`: the task's own loss, from
    `trainer_class`, is its hard loss). Both hooks are off unless given their keyword arguments
    (`teacher=`, `adversarial=`)."""
    return type(
        f"{trainer_class.__name__}WithMethods", (AdversarialMixin, DistillationMixin, trainer_class), {}
    )
