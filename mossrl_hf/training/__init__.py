"""Small Trainer subclasses and callbacks, one hook each."""

import functools

from .adversarial import AdversarialMixin
from .callbacks import training_callbacks
from .continual import ContinualMixin
from .distillation import DistillationMixin
from .trainers import ClassWeightedTrainer, PairwiseRewardTrainer, RecipeTrainer

__all__ = [
    "AdversarialMixin",
    "ClassWeightedTrainer",
    "ContinualMixin",
    "DistillationMixin",
    "PairwiseRewardTrainer",
    "RecipeTrainer",
    "training_callbacks",
    "with_methods",
]


@functools.cache
def with_methods(trainer_class: type) -> type:
    """`trainer_class` with the training methods' hooks on top: adversarial training (`training_step`:
    its extra passes call `compute_loss`) over the continual-learning penalty (`compute_loss`: added to
    the loss below it) over distillation (`compute_loss`: the task's own loss, from `trainer_class`, is
    its hard loss). Each hook is off unless given its keyword arguments (`adversarial=`,
    `continual_regularization=`, `teacher=`)."""
    return type(
        f"{trainer_class.__name__}WithMethods",
        (AdversarialMixin, ContinualMixin, DistillationMixin, trainer_class),
        {},
    )
