"""Continual learning set-up for the recipes: old training data replayed beside the new, the penalty's
Trainer options, and the old task's test scored before and after training (forgetting)."""

import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable

import datasets
import torch

from .configs import ContinualArguments
from .errors import ConfigError
from .runtime import PREVIOUS_AFTER, PREVIOUS_BEFORE

logger = logging.getLogger(__name__)


def check_continual(args: ContinualArguments, training_args, explicit: set[str]) -> None:
    """Option checks that need the other arguments, before any work."""
    if "replay_ratio" in explicit and not args.replay_file:
        raise ConfigError("--replay_ratio mixes in the old training data: give --replay_file too")
    if "ewc_fisher_samples" in explicit and args.continual_regularization != "ewc":
        raise ConfigError("--ewc_fisher_samples is for --continual_regularization ewc")
    uses_training = {
        "--replay_file": args.replay_file,
        f"--continual_regularization {args.continual_regularization}": args.continual_regularization
        != "none",
        "--previous_test_file": args.previous_test_file,
    }
    for flag, given in uses_training.items():
        if given and not training_args.do_train:
            raise ConfigError(f"{flag} acts on training: it needs --do_train and training data")


def grown_from(model_labels: list[str] | None, labels: list[str]) -> int | None:
    """The starting model's label count when this run grows its head (its rows come first), else None."""
    if model_labels and len(labels) > len(model_labels) and labels[: len(model_labels)] == model_labels:
        return len(model_labels)
    return None


def replay_indices(available: int, wanted: int, seed: int) -> list[int]:
    """`wanted` rows of `available`: whole passes over all of them, then a seeded sample of the rest."""
    rows = list(range(available)) * (wanted // available)
    rows += random.Random(seed).sample(range(available), wanted % available)
    return rows


def with_replay(train: datasets.Dataset, replay: datasets.Dataset | None, ratio: float, seed: int):
    """The new training features with round(ratio x their count) replayed old ones appended (Trainer
    shuffles them together)."""
    wanted = round(ratio * len(train))
    if replay is None or wanted == 0:
        return train
    mixed = datasets.concatenate_datasets([train, replay.select(replay_indices(len(replay), wanted, seed))])
    logger.info("Training on %d new + %d replayed examples (of %d old)", len(train), wanted, len(replay))
    return mixed


def trainer_options(args: ContinualArguments, replay: datasets.Dataset | None, old_label_count) -> dict:
    """Keyword arguments of `training.ContinualMixin`."""
    if args.continual_regularization == "none":
        return {}
    return {
        "continual_regularization": args.continual_regularization,
        "continual_lambda": args.continual_lambda,
        "fisher_dataset": replay,
        "fisher_samples": args.ewc_fisher_samples,
        "old_label_count": old_label_count,
    }


@contextlib.contextmanager
def old_labels_only(model, old_label_count: int | None):
    """Predictions of the starting model: the logits of a grown head's new labels pushed far below the
    others, so that the prediction is the argmax over the old rows (kept bit for bit) alone."""
    if old_label_count is None:
        yield
        return

    def hide_new_rows(module, args, kwargs, output):
        output.logits[..., old_label_count:] = torch.finfo(output.logits.dtype).min / 2
        return output

    handle = model.register_forward_hook(hide_new_rows, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


class ForgettingCheck:
    """The old task's test split (`previous`, or None: nothing to do) scored by `score(trainer, split)`
    before training (as the starting model predicts) and after; `forgetting_*` = before - after."""

    def __init__(self, previous, score: Callable, old_label_count: int | None):
        self.previous, self.score, self.old_label_count = previous, score, old_label_count
        self.figures: dict = {}

    def before(self, trainer) -> None:
        if self.previous is None:
            return
        split = dataclasses.replace(self.previous, name=PREVIOUS_BEFORE)
        with old_labels_only(trainer.model, self.old_label_count):
            self.figures = self.score(trainer, split)

    def after(self, trainer, keys: tuple[str, ...]) -> dict:
        if self.previous is None:
            return {}
        after = self.score(trainer, dataclasses.replace(self.previous, name=PREVIOUS_AFTER))
        result = {**self.figures, **after}
        for key in keys:
            old, new = self.figures.get(f"{PREVIOUS_BEFORE}_{key}"), after.get(f"{PREVIOUS_AFTER}_{key}")
            if isinstance(old, (int, float)) and isinstance(new, (int, float)):
                result[f"forgetting_{key}"] = round(old - new, 6)
        return result
