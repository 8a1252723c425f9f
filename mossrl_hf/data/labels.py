"""Choosing a task's label set: given, a fine-tuned model's own, or read from the training split."""

from ..errors import ConfigError


def choose_label_set(
    given: list[str] | None, model_labels: list[str] | None, train_labels: list[str] | None, training: bool
) -> tuple[list[str], str]:
    """The labels in id order and where they came from (for error messages).

    `given` (`--label_names`) wins; else a fine-tuned model's labels, followed, when training it further, by
    the training split's labels it does not have (continual learning: the label set grows, the old labels
    keep their ids); else the training split's labels.
    """
    if given:
        labels, origin = list(given), "--label_names"
    elif model_labels is not None:
        new = [label for label in (train_labels or []) if label not in model_labels] if training else []
        labels = [*model_labels, *new]
        origin = "the model and the new labels of the training data" if new else "the model"
    elif train_labels is not None:
        labels, origin = list(train_labels), "the training data"
    else:
        raise ConfigError("no label set: give --train_file, --label_names, or a fine-tuned model")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"the label set repeats a label: {labels}")
    return labels, origin
