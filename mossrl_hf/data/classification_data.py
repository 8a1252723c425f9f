"""Text classification data: read every split (CSV, TSV, JSON / JSON Lines, saved or Hub datasets, or CoNLL
files turned into sentence-level labels), check it, settle the label set."""

import logging
import random
from dataclasses import dataclass, field

from ..configs import ClassificationDataArguments
from ..errors import ConfigError, DataError, quote
from .conll import read_conll
from .labels import choose_label_set
from .sentences import record_error
from .text_files import is_json_file, iter_json_records, iter_table_rows, load_dataset_splits

logger = logging.getLogger(__name__)

HAS_ENTITY, NO_ENTITY = "entity", "no_entity"


@dataclass
class TextRecords:
    source: str
    texts: list[str] = field(default_factory=list)
    pairs: list[str] | None = None
    labels: list[object] = field(default_factory=list)  # as read; strings after `labels_as_names`
    lines: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def error(self, index: int, message: str) -> DataError:
        return record_error(self.source, self.lines[index], index, message)

    def subset_indices(self, count: int | None, seed: int | None = None) -> list[int]:
        """Which examples `subset(count, seed)` keeps, in file order."""
        if count is None or count >= len(self):
            return list(range(len(self)))
        return (
            sorted(random.Random(seed).sample(range(len(self)), count))
            if seed is not None
            else list(range(count))
        )

    def subset(self, count: int | None, seed: int | None = None) -> "TextRecords":
        """The first `count` examples, or with `seed` a random `count` of them, kept in file order."""
        if count is None or count >= len(self):
            return self
        return self.select(self.subset_indices(count, seed))

    def select(self, keep: list[int]) -> "TextRecords":
        pairs = [self.pairs[i] for i in keep] if self.pairs is not None else None
        return TextRecords(
            self.source,
            [self.texts[i] for i in keep],
            pairs,
            [self.labels[i] for i in keep],
            [self.lines[i] for i in keep],
        )


def _add_row(records: TextRecords, row: dict, line: int | None, args: ClassificationDataArguments) -> None:
    index = len(records)
    records.lines.append(line)
    columns = [args.text_column, args.label_column] + (
        [args.text_pair_column] if args.text_pair_column else []
    )
    for column in columns:
        if column not in row:
            records.lines.pop()
            raise record_error(
                records.source, line, index, f"missing column {column!r} (has: {', '.join(row)})"
            )
    for column in columns[:1] + columns[2:]:
        value = row[column]
        if not isinstance(value, str) or not value.strip():
            records.lines.pop()
            raise record_error(records.source, line, index, f"empty or non-text {column!r}: {quote(value)}")
    records.texts.append(row[args.text_column])
    if args.text_pair_column:
        records.pairs = records.pairs or []
        records.pairs.append(row[args.text_pair_column])
    records.labels.append(row[args.label_column])


def _read_file(path: str, args: ClassificationDataArguments) -> TextRecords:
    records = TextRecords(source=path)
    if args.labels_from == "conll_has_entity":
        sentences = read_conll(path, args.tag_column)
        records.texts = [" ".join(words) for words in sentences.words]
        records.labels = [
            HAS_ENTITY if any(tag != "O" for tag in tags) else NO_ENTITY for tags in sentences.tags
        ]
        records.lines = list(sentences.lines)
        return records
    rows = iter_json_records(path) if is_json_file(path) else iter_table_rows(path)
    for line, row in rows:
        if not isinstance(row, dict):
            raise DataError(path, line, f"expected a JSON object, found {quote(row)}")
        _add_row(records, row, line, args)
    if not records:
        raise DataError(path, 1, "no examples found (the file is empty or holds only a header)")
    return records


def _read_dataset(args: ClassificationDataArguments) -> dict[str, TextRecords]:
    splits = {}
    for split, (source, dataset) in load_dataset_splits(args.dataset_name, args.dataset_config_name).items():
        records = TextRecords(source=source)
        names = getattr(dataset.features.get(args.label_column), "names", None)
        for row in dataset:
            if names is not None and isinstance(row.get(args.label_column), int):
                row = {**row, args.label_column: names[row[args.label_column]]}
            _add_row(records, row, None, args)
        splits[split] = records
    return splits


def _labels_as_names(records: TextRecords, label_names: list[str] | None) -> None:
    """Labels become strings: ints (or digit strings) index `label_names` when it is given."""
    for index, label in enumerate(records.labels):
        if isinstance(label, bool) or label is None or (isinstance(label, str) and not label.strip()):
            raise records.error(index, f"missing or invalid label {quote(label)}")
        if label_names and not (isinstance(label, str) and label in label_names):
            try:
                position = int(label)
            except (TypeError, ValueError):
                position = None
            if position is not None and 0 <= position < len(label_names):
                label = label_names[position]
        if not isinstance(label, (str, int)):
            raise records.error(index, f"a label must be a string or an int, found {quote(label)}")
        records.labels[index] = str(label)


def _sorted_labels(labels) -> list[str]:
    unique = set(labels)
    if all(label.lstrip("-").isdigit() for label in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def load_classification_data(
    args: ClassificationDataArguments, extra_files: dict[str, str] | None = None
) -> dict[str, TextRecords]:
    """Every split: the dataset's or the split files', then `extra_files` (name -> path: a continued run's
    replay data and old test, say), read and checked the same way."""
    if args.dataset_name and args.data_files:
        raise ConfigError(
            "give either --dataset_name or --train_file/--validation_file/--test_file, not both"
        )
    splits = _read_dataset(args) if args.dataset_name else {}
    files = {**args.data_files, **(extra_files or {})}
    splits.update({split: _read_file(path, args) for split, path in files.items()})
    if not splits:
        raise ConfigError("no data: give --train_file/--validation_file/--test_file or --dataset_name")
    for split, records in splits.items():
        if not records:
            raise DataError(records.source, None, f"the {split} split is empty")
        _labels_as_names(records, args.label_names)
    splits = {
        split: records.subset(args.sample_limits.get(split), args.subset_seed)
        for split, records in splits.items()
    }
    for split, records in splits.items():
        logger.info("%s: %d examples from %s", split, len(records), records.source)
    return splits


def resolve_class_labels(
    splits: dict[str, TextRecords],
    args: ClassificationDataArguments,
    model_labels: list[str] | None,
    training: bool,
) -> list[str]:
    train_labels = _sorted_labels(splits["train"].labels) if "train" in splits else None
    if args.labels_from == "conll_has_entity":
        train_labels = [NO_ENTITY, HAS_ENTITY]  # both, always; the positive class (id 1) is `entity`
    labels, origin = choose_label_set(args.label_names, model_labels, train_labels, training)
    known = set(labels)
    for records in splits.values():
        for index, label in enumerate(records.labels):
            if label not in known:
                raise records.error(
                    index,
                    f"label {label!r} is not in the label set taken from {origin} ({', '.join(labels)})",
                )
    return labels
