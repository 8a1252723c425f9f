"""Self-training set-up for classify.py: the unlabeled texts read and tokenized once, the labeler (the model
being trained, or a reward function), and the option checks (see `training.self_training`)."""

import datasets
import numpy as np

from .configs import SelfTrainingArguments
from .errors import ConfigError
from .reward import default_positive_label, load_reward_function, read_texts
from .tasks.classification import tokenize_texts
from .training.self_training import SelfTraining, reward_as_probabilities

ROUND_METRIC = "accuracy"  # the validation figure recorded for each round


def check_self_training(args: SelfTrainingArguments, training_args, explicit: set[str]) -> None:
    """Option checks that need the other arguments, before any work."""
    if not args.unlabeled_file:
        flags = (
            "self_training_rounds",
            "self_training_epochs",
            "pseudo_label_threshold",
            "pseudo_label_model",
        )
        for flag in flags:
            if flag in explicit:
                raise ConfigError(f"--{flag} is for self-training: give --unlabeled_file too")
        return
    if not training_args.do_train:
        raise ConfigError("--unlabeled_file is for self-training: it needs --do_train and training data")
    if training_args.hp_search_trials:
        raise ConfigError("--hp_search_trials searches one training, not self-training's rounds")
    if training_args.resume_from_checkpoint:
        raise ConfigError("--resume_from_checkpoint resumes one training, not self-training's rounds")
    if args.self_training_epochs is not None and training_args.max_steps > 0:
        raise ConfigError(
            "--self_training_epochs sets each round's length: drop --max_steps, which would win"
        )


def build_self_training(
    args: SelfTrainingArguments, text_column: str, max_seq_length: int, tokenizer, labels: list[str]
) -> SelfTraining | None:
    """The rounds of `training.self_training.SelfTraining`, or None without --unlabeled_file."""
    if not args.unlabeled_file:
        return None
    texts = read_texts(args.unlabeled_file, text_column)[: args.max_unlabeled_samples]
    columns, _ = tokenize_texts(tokenizer, texts, None, max_seq_length)
    unlabeled = datasets.Dataset.from_dict(columns)

    def featurize(rows: np.ndarray, label_ids: np.ndarray) -> datasets.Dataset:
        return unlabeled.select(rows.tolist()).add_column("labels", label_ids.tolist())

    labeler = None
    if args.pseudo_label_model:
        if len(labels) != 2:
            raise ConfigError(
                f"--pseudo_label_model gives one score a text: it needs a two-label task, not {len(labels)} "
                f"labels ({', '.join(labels)})"
            )
        reward = load_reward_function(args.pseudo_label_model, score="probability", max_length=max_seq_length)
        positive = labels.index(default_positive_label(labels))

        def labeler() -> np.ndarray:
            return reward_as_probabilities(reward(texts), positive)

    return SelfTraining(
        unlabeled,
        featurize,
        labels,
        args.self_training_rounds,
        args.self_training_epochs,
        args.pseudo_label_threshold,
        ROUND_METRIC,
        labeler,
    )
