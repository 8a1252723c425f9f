"""Small Trainer subclasses and callbacks, one hook each."""

from .trainers import ClassWeightedTrainer, PairwiseRewardTrainer, RecipeTrainer

__all__ = ["ClassWeightedTrainer", "RecipeTrainer", "PairwiseRewardTrainer"]
