"""Text classification glue: features per split, metrics inside Trainer, the files a split leaves."""

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from transformers import Trainer

from .. import runtime
from ..configs import ClassificationDataArguments
from ..data.classification_data import TextRecords
from ..data.noise import noisy_text_records
from ..data.ordering import shortest_first, to_input_order
from ..errors import ConfigError
from ..metrics import bootstrap, modules
from ..metrics.classification_metrics import classification_report_text, softmax
from ..reporting import atomic_write_lines, atomic_write_text

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("accuracy", "f1", "precision", "recall", "roc_auc", "macro_f1")


@dataclass
class TextSplit:
    name: str
    records: TextRecords
    features: datasets.Dataset  # evaluation splits: longest first; `order` maps rows to input rows
    order: np.ndarray


def tokenize_texts(tokenizer, texts: list[str], pairs: list[str] | None, max_length: int) -> tuple[dict, int]:
    """Tokenize, truncating to `max_length`; also count how many inputs were cut. Only the long ones are
    tokenized a second time (with truncation)."""
    encoding = tokenizer(texts, pairs, truncation=False, verbose=False)
    input_ids, attention_mask = encoding["input_ids"], encoding["attention_mask"]
    long_rows = [row for row, ids in enumerate(input_ids) if len(ids) > max_length]
    if long_rows:
        cut = tokenizer(
            [texts[row] for row in long_rows],
            [pairs[row] for row in long_rows] if pairs is not None else None,
            truncation=True,
            max_length=max_length,
        )
        for position, row in enumerate(long_rows):
            input_ids[row], attention_mask[row] = cut["input_ids"][position], cut["attention_mask"][position]
    return {"input_ids": input_ids, "attention_mask": attention_mask}, len(long_rows)


def build_splits(
    splits: dict[str, TextRecords],
    tokenizer,
    labels: list[str],
    args: ClassificationDataArguments,
    needed: set[str],
) -> dict[str, TextSplit]:
    return {
        name: build_split(name, records, tokenizer, labels, args)
        for name, records in splits.items()
        if name in needed
    }


def build_split(
    name: str, records: TextRecords, tokenizer, labels: list[str], args: ClassificationDataArguments
) -> TextSplit:
    label2id = {label: index for index, label in enumerate(labels)}
    columns, truncated = tokenize_texts(tokenizer, records.texts, records.pairs, args.max_seq_length)
    columns["labels"] = [label2id[label] for label in records.labels]
    if truncated:
        logger.warning(
            "%s: %d of %d examples are longer than --max_seq_length %d and were truncated",
            name,
            truncated,
            len(records),
            args.max_seq_length,
        )
    features = datasets.Dataset.from_dict(columns)
    features, order = shortest_first(features, args.eval_by_length and name not in runtime.TRAINING_SPLITS)
    return TextSplit(name, records, features, order)


def class_weights(setting: str, train: TextRecords | None, labels: list[str]) -> list[float] | None:
    """`none`; `auto`: n / (classes x count), inverse frequency in the training split; or given numbers."""
    if setting == "none":
        return None
    if setting == "auto":
        if train is None:
            raise ConfigError("--class_weights auto needs a training split")
        counts = Counter(train.labels)
        missing = [label for label in labels if not counts[label]]
        if missing:
            raise ConfigError(f"--class_weights auto: no training example of {missing}")
        return [len(train) / (len(labels) * counts[label]) for label in labels]
    weights = [float(weight) for weight in setting.split(",")]
    if len(weights) != len(labels) or any(weight <= 0 for weight in weights):
        raise ConfigError(
            f"--class_weights needs {len(labels)} positive numbers ({', '.join(labels)}), got {setting}"
        )
    return weights


class ClassificationMetrics:
    """Trainer `compute_metrics`: logits and gold ids to the figures of metrics/classification_scores.py
    (or of the --metric module)."""

    def __init__(self, labels: list[str], metric: str | None = None):
        self.labels, self.metric = labels, metric
        self.last_probabilities: np.ndarray | None = None
        self.last_gold: np.ndarray | None = None

    def __call__(self, eval_prediction) -> dict:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        self.last_probabilities = softmax(np.asarray(logits, dtype=np.float64))
        self.last_gold = np.asarray(eval_prediction.label_ids)
        predicted = self.last_probabilities.argmax(axis=-1)
        module = modules.load_metric(self.metric, "classification")
        return modules.score(
            module, predicted, self.last_gold, labels=self.labels, prediction_scores=self.last_probabilities
        )

    def intervals(self, samples: int, seed: int) -> dict[str, list[float]]:
        """95% intervals of the headline figures, resampling examples (the task's own module only)."""
        if self.metric is not None:
            return {}
        classes, predicted = len(self.labels), self.last_probabilities.argmax(axis=-1)
        counts = bootstrap.classification_counts(self.last_gold, predicted, classes)
        result = bootstrap.intervals(counts, bootstrap.classification_statistics(classes), samples, seed)
        if classes == 2:
            auc = bootstrap.roc_auc_interval(self.last_gold, self.last_probabilities[:, 1], samples, seed)
            result.update({"roc_auc": auc} if auc else {})
        return result


def prediction_lines(records: TextRecords, probabilities: np.ndarray, labels: list[str]) -> list[str]:
    lines = []
    for index, row in enumerate(probabilities):
        record = {"text": records.texts[index]}
        if records.pairs is not None:
            record["text_pair"] = records.pairs[index]
        record["label"] = records.labels[index]
        record["predicted"] = labels[int(row.argmax())]
        # Six decimals: the digits beyond differ between batchings (float32 sums round by batch shape).
        record["probabilities"] = {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return lines


def score_split(trainer: Trainer, split: TextSplit, labels: list[str]) -> dict:
    """Evaluate (validation) or predict (test) one split; write its report, and for test its predictions."""
    metric = ClassificationMetrics(labels, trainer.args.metric)
    prefix, metrics = runtime.score_split(trainer, split.name, split.features, metric)
    if trainer.is_world_process_zero():
        output = Path(trainer.args.output_dir)
        probabilities = to_input_order(metric.last_probabilities, split.order)
        gold = np.array([labels.index(label) for label in split.records.labels])
        predicted = probabilities.argmax(axis=-1)
        atomic_write_text(
            output / f"{prefix}_report.txt", classification_report_text(gold, predicted, labels)
        )
        if prefix == "test":
            atomic_write_lines(
                output / "test_predictions.jsonl", prediction_lines(split.records, probabilities, labels)
            )
    return metrics


def scorer(labels: list[str]):
    """`score_split` as a function of (trainer, split): an old task's test split (continual learning) is
    scored as any other, a prediction of a class added since being an error there."""
    return lambda trainer, split: score_split(trainer, split, labels)


def score_noisy(trainer: Trainer, test: TextSplit, tokenizer, labels, args, noise) -> dict:
    """Score the test split again with `noise.test_noise` perturbed words (seeded by the run's seed):
    `test_noisy_*` figures and `test_noisy_report.txt`."""
    records = noisy_text_records(test.records, noise.test_noise, noise.test_noise_rate, trainer.args.seed)
    split = build_split(runtime.NOISY_TEST, records, tokenizer, labels, args)
    return score_split(trainer, split, labels)


def card_fields(labels: list[str], args: ClassificationDataArguments) -> dict:
    """What the model card says about this task beyond the run's arguments."""
    detail = None
    if args.labels_from == "conll_has_entity":
        detail = (
            "The labels are derived from CoNLL NER tags: `entity` when a sentence has at least one named "
            "entity, else `no_entity`; the text is the sentence's words joined by spaces."
        )
    return {"task": "classification", "labels": labels, "task_detail": detail}
