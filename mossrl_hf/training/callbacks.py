"""The callbacks the recipes' options ask for (`training_callbacks`), beside Trainer's own."""

import logging

from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments

from .head_warmup import HeadWarmup

logger = logging.getLogger(__name__)


class EarlyStoppingLog(TrainerCallback):
    """Says in the log when and why transformers' `EarlyStoppingCallback` (run just before this one) ends the
    run. A callback beside it rather than a subclass: checkpoints keep its state under its own name."""

    def __init__(self, stopping: EarlyStoppingCallback):
        self.stopping = stopping

    def on_evaluate(self, args, state, control, **kwargs):
        if control.should_training_stop and (
            self.stopping.early_stopping_patience_counter >= self.stopping.early_stopping_patience
        ):
            # A warning, so that it shows at the default log level: the run ends before its planned length.
            logger.warning(
                "Early stopping at step %d (epoch %.2f): %s has not improved on %s for %d evaluations",
                state.global_step,
                state.epoch or 0.0,
                args.metric_for_best_model,
                state.best_metric,
                self.stopping.early_stopping_patience_counter,
            )


def training_callbacks(args: TrainingArguments) -> list:
    """Callbacks the options ask for: early stopping (transformers' own callback), logged; the head
    warm-up."""
    callbacks = []
    if getattr(args, "head_warmup_steps", 0):
        callbacks.append(HeadWarmup(args.head_warmup_steps))
    if args.early_stopping_patience is not None:
        stopping = EarlyStoppingCallback(args.early_stopping_patience, args.early_stopping_threshold)
        callbacks += [stopping, EarlyStoppingLog(stopping)]
    return callbacks
