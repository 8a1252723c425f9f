"""Self-training around Trainer: train on the labelled data, then round after round label the unlabeled
texts with the model (or a given reward function), keep the confident ones, and train again on labelled +
kept (Yarowsky 1995; Scudder 1965). Every round is one `Trainer.train()` call (a fresh optimizer and
schedule of --num_train_epochs, or --self_training_epochs after the first) continuing from the weights
the last round left.

The figures of each round (kept examples, their class balance, the validation metric) go into the run's
results under `self_training`; the logs of all rounds stay in `trainer.state.log_history`, their steps
counted from the start of the first round.
"""

import logging
from collections.abc import Callable, Sequence

import datasets
import numpy as np
from transformers.trainer_utils import TrainOutput

from ..data.ordering import shortest_first, to_input_order
from ..metrics.classification_metrics import softmax
from .trainers import metrics_for_one_call

logger = logging.getLogger(__name__)


def select_confident(probabilities: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose most probable class has probability >= threshold, and that class for each of them."""
    confidence = probabilities.max(axis=-1)
    rows = np.flatnonzero(confidence >= threshold)
    return rows, probabilities[rows].argmax(axis=-1)


def reward_as_probabilities(scores: Sequence[float], positive: int) -> np.ndarray:
    """A two-label task's class probabilities from a reward function's P(positive) in [0, 1]."""
    positive_share = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    probabilities = np.empty((len(positive_share), 2))
    probabilities[:, positive], probabilities[:, 1 - positive] = positive_share, 1.0 - positive_share
    return probabilities


def model_probabilities(trainer, features: datasets.Dataset) -> np.ndarray:
    """Class probabilities of the trainer's model for every row of `features` (no labels), in row order;
    predicted shortest first to cut padding."""
    ordered, order = shortest_first(features)
    with metrics_for_one_call(trainer, None):
        logits = trainer.predict(ordered, metric_key_prefix="unlabeled").predictions
    logits = np.asarray(logits[0] if isinstance(logits, tuple) else logits, dtype=np.float64)
    return to_input_order(softmax(logits), order)


class SelfTraining:
    """`train(trainer)`: the rounds; pass it as the training step of `runtime.train_and_save`.

    `unlabeled` are the tokenized unlabeled texts (model inputs, no labels), `featurize(rows, label_ids)`
    turns kept rows and their pseudo-labels into training features like the labelled ones, `labeler`
    (texts -> probabilities per label) replaces the model's own predictions when given.
    """

    def __init__(
        self,
        unlabeled: datasets.Dataset,
        featurize: Callable[[np.ndarray, np.ndarray], datasets.Dataset],
        labels: list[str],
        rounds: int,
        epochs: float | None,
        threshold: float,
        metric: str,
        labeler: Callable[[], np.ndarray] | None = None,
    ):
        self.unlabeled, self.featurize, self.labels = unlabeled, featurize, labels
        self.rounds, self.epochs, self.threshold = rounds, epochs, threshold
        self.metric, self.labeler = metric, labeler
        self.history: list[dict] = []

    def train(self, trainer, **train_kwargs):
        labelled = trainer.train_dataset
        logs: list[dict] = []
        outputs = [self._round(trainer, 0, 0, {}, logs, train_kwargs)]
        first_epochs = trainer.args.num_train_epochs
        if self.epochs is not None:
            trainer.args.num_train_epochs = self.epochs
        for number in range(1, self.rounds + 1):
            probabilities = self.labeler() if self.labeler else model_probabilities(trainer, self.unlabeled)
            rows, label_ids = select_confident(probabilities, self.threshold)
            counts = {label: int((label_ids == index).sum()) for index, label in enumerate(self.labels)}
            logger.warning(  # at the level users see by default: a round can take a while
                "Self-training round %d: %d of %d unlabeled texts kept (%s)",
                number,
                len(rows),
                len(self.unlabeled),
                counts,
            )
            parts = [labelled, self.featurize(rows, label_ids)] if len(rows) else [labelled]
            trainer.train_dataset = datasets.concatenate_datasets(parts)
            outputs.append(self._round(trainer, number, len(rows), counts, logs, {}))
        trainer.train_dataset = labelled
        trainer.args.num_train_epochs = first_epochs
        trainer.state.log_history = logs
        # The run's figures cover every round: its steps and time, the last round's mean loss.
        steps = sum(output.global_step for output in outputs)
        seconds = sum(output.metrics.get("train_runtime", 0.0) for output in outputs)
        metrics = {**outputs[-1].metrics, "train_runtime": round(seconds, 4), "train_steps": steps}
        return TrainOutput(steps, outputs[-1].training_loss, metrics)

    def _round(self, trainer, number: int, kept: int, counts: dict, logs: list[dict], train_kwargs):
        output = trainer.train(**train_kwargs)
        offset = logs[-1]["step"] if logs else 0
        for entry in trainer.state.log_history:
            logs.append({**entry, "step": entry.get("step", 0) + offset, "self_training_round": number})
        figures = trainer.evaluate() if trainer.eval_dataset is not None else {}
        self.history.append(
            {
                "round": number,
                "kept": kept,
                "kept_share": round(kept / len(self.unlabeled), 6) if number else 0.0,
                "kept_per_label": counts,
                "train_examples": len(trainer.train_dataset),
                "steps": output.global_step,
                f"eval_{self.metric}": figures.get(f"eval_{self.metric}"),
            }
        )
        return output

    def results(self) -> dict:
        """The run's figures: every round's, and the last round's kept count at the top level."""
        return {"self_training": self.history, "self_training_kept": self.history[-1]["kept"]}
