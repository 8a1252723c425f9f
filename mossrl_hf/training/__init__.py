"""Small Trainer subclasses and callbacks, one hook each."""

from .trainers import InOrderEvalTrainer

__all__ = ["InOrderEvalTrainer"]
