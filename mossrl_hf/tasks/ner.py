"""NER task glue: features per split, word-level evaluation inside Trainer, the files a split leaves."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import torch
from transformers import Trainer

from .. import runtime
from ..configs import NerDataArguments
from ..data.decoding import WordTagger
from ..data.ner_data import NerData
from ..data.ner_features import MODEL_COLUMNS, build_ner_features
from ..data.noise import noisy_sentences
from ..data.ordering import shortest_first
from ..data.sentences import SentenceRecords
from ..data.tagging import split_tag
from ..metrics import bootstrap, modules
from ..metrics.ner_metrics import conll_prediction_lines, ner_report_text
from ..reporting import atomic_write_lines, atomic_write_text

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("f1", "precision", "recall", "accuracy", "strict_f1")


@dataclass
class NerSplit:
    name: str
    records: SentenceRecords
    features: datasets.Dataset  # model inputs plus `sentence` and `word_index` for the way back to words

    @property
    def model_inputs(self) -> datasets.Dataset:
        return self.features.select_columns(MODEL_COLUMNS)


def build_splits(
    data: NerData, tokenizer, labels: list[str], args: NerDataArguments, needed: set[str]
) -> dict[str, NerSplit]:
    """Features for the `needed` splits."""
    return {
        name: build_split(name, records, tokenizer, labels, args)
        for name, records in data.splits.items()
        if name in needed
    }


def build_split(name: str, records: SentenceRecords, tokenizer, labels: list[str], args: NerDataArguments):
    label2id = {label: index for index, label in enumerate(labels)}
    features = build_ner_features(
        records,
        tokenizer,
        label2id,
        args.max_seq_length,
        args.stride,
        args.label_all_tokens,
        num_proc=args.preprocessing_num_workers,
    )
    if name not in runtime.TRAINING_SPLITS:
        features, _ = shortest_first(features, args.eval_by_length)  # word_index maps rows back
    windowed = len(features) - len(records)
    logger.info(
        "%s: %d sentences -> %d windows (%d extra for long sentences)",
        name,
        len(records),
        len(features),
        windowed,
    )
    return NerSplit(name, records, features)


def remember_decoding(model, tagger: WordTagger) -> None:
    """Store the tag scheme and decoding in the model config, so `predict` decodes as evaluation did."""
    model.config.ner_tag_scheme = tagger.scheme
    model.config.ner_decoding = tagger.method


def log_probabilities(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Trainer's `preprocess_logits_for_metrics`: label log-probabilities per token, for decoding."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return torch.log_softmax(logits.float(), dim=-1)


@dataclass
class WordLevelNerMetrics:
    """Trainer `compute_metrics` that scores whole input words, not sub-token windows.

    Trainer returns one row per window, in dataset order; the split's `sentence`/`word_index` columns map
    them back to one tag per word, so every sentence counts exactly once.
    """

    split: NerSplit
    tagger: WordTagger
    metric: str | None = None  # --metric: another evaluate module (default: metrics/ner_seqeval.py)
    only_types: frozenset[str] | None = None  # score these entity types only: others' tags count as O
    last_predicted: list[list[str]] = field(default_factory=list, repr=False)

    def predicted_tags(self, predictions) -> list[list[str]]:
        lengths = [len(words) for words in self.split.records.words]
        features = self.split.features
        tags = self.tagger.tags(features["sentence"], features["word_index"], predictions, lengths)
        if self.only_types is None:
            return tags
        return [[tag if split_tag(tag)[1] in self.only_types else "O" for tag in row] for row in tags]

    def check_order(self, label_ids) -> None:
        """Predictions must come in dataset order: the label ids that came with them say whether they did."""
        if label_ids is None:
            return
        for row, expected in enumerate(self.split.features["labels"]):
            if list(label_ids[row][: len(expected)]) != expected:
                raise RuntimeError(
                    f"{self.split.name}: predictions are not in dataset order (row {row}); evaluate with a "
                    "sequential sampler (RecipeTrainer)"
                )

    def __call__(self, eval_prediction) -> dict[str, float]:
        self.check_order(eval_prediction.label_ids)
        self.last_predicted = self.predicted_tags(eval_prediction.predictions)
        module = modules.load_metric(self.metric, "ner")
        return modules.score(module, self.last_predicted, self.split.records.tags, scheme=self.tagger.scheme)

    def intervals(self, samples: int, seed: int) -> dict[str, list[float]]:
        """95% intervals of the headline figures, resampling sentences (the task's own module only: a
        --metric module's figures are not these)."""
        if self.metric is not None:
            return {}
        counts = bootstrap.ner_sentence_counts(
            self.split.records.tags, self.last_predicted, self.tagger.scheme
        )
        return bootstrap.intervals(counts, bootstrap.NER_STATISTICS, samples, seed)


def score_split(
    trainer: Trainer, split: NerSplit, tagger: WordTagger, only_types: frozenset[str] | None = None
) -> dict[str, float]:
    """Evaluate (validation) or predict (test) one split; write its report, and for test its predictions.
    With `only_types`, predicted entities of other types are dropped before scoring (an old task's test
    data, which does not annotate the types added since)."""
    metric = WordLevelNerMetrics(split, tagger, trainer.args.metric, only_types)
    prefix, metrics = runtime.score_split(trainer, split.name, split.model_inputs, metric)
    if trainer.is_world_process_zero():
        output = Path(trainer.args.output_dir)
        atomic_write_text(
            output / f"{prefix}_report.txt",
            ner_report_text(split.records.tags, metric.last_predicted, tagger.scheme),
        )
        if prefix == "test":
            lines = conll_prediction_lines(split.records.words, split.records.tags, metric.last_predicted)
            atomic_write_lines(output / "test_predictions.conll", lines)
    return metrics


def score_noisy(
    trainer: Trainer, test: NerSplit, tokenizer, labels, args: NerDataArguments, tagger, noise
) -> dict:
    """Score the test split again with `noise.test_noise` perturbed words (seeded by the run's seed):
    `test_noisy_*` figures and `test_noisy_report.txt`."""
    records = noisy_sentences(test.records, noise.test_noise, noise.test_noise_rate, trainer.args.seed)
    split = build_split(runtime.NOISY_TEST, records, tokenizer, labels, args)
    return score_split(trainer, split, tagger)


def old_task_scorer(tagger: WordTagger):
    """`score_split` for an old task's test split (continual learning): over the entity types its
    annotation has, so that entities of the types added since are not counted as false positives."""

    def score(trainer: Trainer, split: NerSplit) -> dict[str, float]:
        types = frozenset(split_tag(tag)[1] for tags in split.records.tags for tag in tags) - {""}
        return score_split(trainer, split, tagger, types)

    return score


def card_fields(labels: list[str]) -> dict:
    """What the model card says about this task beyond the run's arguments."""
    return {"task": "ner", "labels": labels}
