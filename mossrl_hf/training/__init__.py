"""Small Trainer subclasses and callbacks, one hook each."""

from .trainers import ClassWeightedTrainer, InOrderEvalTrainer, PairwiseRewardTrainer

__all__ = ["ClassWeightedTrainer", "InOrderEvalTrainer", "PairwiseRewardTrainer"]
