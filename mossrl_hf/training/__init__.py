"""Small Trainer subclasses and callbacks, one hook each."""

from .trainers import ClassWeightedTrainer, InOrderEvalTrainer

__all__ = ["ClassWeightedTrainer", "InOrderEvalTrainer"]
