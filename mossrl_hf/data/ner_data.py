"""NER data: read every split, check it, settle the tag scheme and the label set.

Sources: CoNLL column files, JSON / JSON Lines files, a dataset saved with `save_to_disk`, or a Hub dataset.
Every problem is a `DataError` naming the file and line (or example) and quoting the value.
"""

import logging
from dataclasses import dataclass

from ..configs import NerDataArguments
from ..errors import ConfigError, DataError, quote
from . import tagging
from .conll import read_conll
from .labels import choose_label_set
from .sentences import SentenceRecords
from .text_files import is_json_file, iter_json_records, load_dataset_splits

logger = logging.getLogger(__name__)


@dataclass
class NerData:
    splits: dict[str, SentenceRecords]
    scheme: str  # the tag scheme after any conversion: IOB1, IOB2 or BIOES

    def sources(self) -> dict[str, str]:
        return {split: records.source for split, records in self.splits.items()}


def _word_error(word: object) -> str | None:
    if not isinstance(word, str):
        return f"a word must be a string, found {quote(word)}"
    if not word or any(character.isspace() for character in word):
        return f"word {quote(word)} is empty or contains white space (one word per position)"
    return None


def _records_from_json(path: str, args: NerDataArguments) -> SentenceRecords:
    records = SentenceRecords(source=path)
    for line, record in iter_json_records(path):
        if not isinstance(record, dict):
            raise DataError(path, line, f"expected a JSON object, found {quote(record)}")
        for key in (args.tokens_column, args.tags_column):
            if key not in record:
                raise DataError(path, line, f"missing key {key!r} (keys: {', '.join(map(str, record))})")
        words, tags = record[args.tokens_column], record[args.tags_column]
        if not isinstance(words, list) or not isinstance(tags, list):
            raise DataError(path, line, f"{args.tokens_column!r} and {args.tags_column!r} must be lists")
        if len(words) != len(tags):
            raise DataError(path, line, f"{len(words)} words but {len(tags)} tags: {quote(words)}")
        if not words:
            raise DataError(path, line, "a sentence with no words")
        records.add(words, tags, line)
    if not records:
        raise DataError(path, 1, "no records found (the file is empty)")
    return records


def _records_from_dataset(args: NerDataArguments) -> dict[str, SentenceRecords]:
    result = {}
    for split, (source, dataset) in load_dataset_splits(args.dataset_name, args.dataset_config_name).items():
        for key in (args.tokens_column, args.tags_column):
            if key not in dataset.column_names:
                raise DataError(source, None, f"missing column {key!r} ({dataset.column_names})")
        records = SentenceRecords(source=source)
        tag_names = _class_label_names(dataset.features[args.tags_column])
        for words, tags in zip(dataset[args.tokens_column], dataset[args.tags_column], strict=True):
            records.add(list(words), [tag_names[t] for t in tags] if tag_names else list(tags), None)
        result[split] = records
    return result


def _class_label_names(feature) -> list[str] | None:
    inner = getattr(feature, "feature", None)
    if isinstance(feature, list) and feature:
        inner = feature[0]
    return getattr(inner, "names", None)


def read_ner_splits(
    args: NerDataArguments, extra_files: dict[str, str] | None = None
) -> dict[str, SentenceRecords]:
    """Every split: the dataset's or the split files', then `extra_files` (name -> path: a continued run's
    replay data and old test, say), read the same way."""
    if args.dataset_name and args.data_files:
        raise ConfigError(
            "give either --dataset_name or --train_file/--validation_file/--test_file, not both"
        )
    splits = _records_from_dataset(args) if args.dataset_name else {}
    for split, path in {**args.data_files, **(extra_files or {})}.items():
        if is_json_file(path):
            splits[split] = _records_from_json(path, args)
        else:
            splits[split] = read_conll(path, args.tag_column)
    return splits


def _tags_as_strings(records: SentenceRecords, label_names: list[str] | None) -> None:
    """Turn int tags into names (`--label_names`), and check every word and tag."""
    for index, (words, tags) in enumerate(zip(records.words, records.tags, strict=True)):
        for position, (word, tag) in enumerate(zip(words, tags, strict=True)):
            problem = _word_error(word)
            if problem:
                raise records.error(index, problem, position)
            if isinstance(tag, int) and not isinstance(tag, bool):
                if not label_names:
                    raise records.error(
                        index, f"tag {tag} is a number: give --label_names to name it", position
                    )
                if not 0 <= tag < len(label_names):
                    raise records.error(
                        index, f"tag id {tag} is outside --label_names (0..{len(label_names) - 1})", position
                    )
                tags[position] = tag = label_names[tag]
            if not isinstance(tag, str):
                raise records.error(index, f"a tag must be a string or an int, found {quote(tag)}", position)
            try:
                tagging.split_tag(tag)
            except ValueError as error:
                raise records.error(index, str(error), position) from None


def _settle_scheme(records: SentenceRecords) -> str:
    evidence: set[str] = set()
    for index, tags in enumerate(records.tags):
        evidence |= tagging.scheme_evidence(tags)
        if tagging.scheme_from_evidence(evidence) is None:
            raise records.error(
                index,
                "this file mixes tag schemes (IOB1, IOB2, BIOES): this sentence contradicts the scheme "
                f"of the ones before it: {quote(' '.join(tags))}",
            )
    return tagging.scheme_from_evidence(evidence)


def load_ner_data(args: NerDataArguments, extra_files: dict[str, str] | None = None) -> NerData:
    """Read, check and (with `--tag_scheme iob2`) convert every split given (`extra_files` too)."""
    splits = read_ner_splits(args, extra_files)
    if not splits:
        raise ConfigError("no data: give --train_file/--validation_file/--test_file or --dataset_name")
    schemes = {}
    for split, records in splits.items():
        _tags_as_strings(records, args.label_names)
        schemes[split] = _settle_scheme(records)
    distinct = {scheme for split, scheme in schemes.items() if scheme != tagging.IOB2} or {tagging.IOB2}
    if len(distinct) > 1:
        described = ", ".join(f"{splits[s].source}: {scheme}" for s, scheme in schemes.items())
        raise ConfigError(f"the data files use different tag schemes ({described}); convert them to one")
    scheme = distinct.pop()
    if args.tag_scheme == "iob2" and scheme != tagging.IOB2:
        logger.info("Converting tags from %s to IOB2", scheme)
        for records in splits.values():
            records.tags = [tagging.to_iob2(tags, scheme) for tags in records.tags]
        scheme = tagging.IOB2
    splits = {split: records.head(args.sample_limits.get(split)) for split, records in splits.items()}
    for split, records in splits.items():
        logger.info("%s: %d sentences from %s (%s)", split, len(records), records.source, scheme)
    return NerData(splits=splits, scheme=scheme)


def resolve_labels(
    data: NerData, args: NerDataArguments, model_labels: list[str] | None, training: bool
) -> list[str]:
    """The label set in id order (see `choose_label_set`); every tag of every split must be in it."""
    train_tags = None
    if "train" in data.splits:
        # O is always a label: words that produce no sub-token are read back as O.
        train_tags = tagging.sort_labels(["O", *(tag for tags in data.splits["train"].tags for tag in tags)])
    labels, origin = choose_label_set(args.label_names, model_labels, train_tags, training)
    check_tags_in_label_set(data, labels, origin)
    return labels


def check_tags_in_label_set(data: NerData, labels: list[str], origin: str) -> None:
    known = set(labels)
    for records in data.splits.values():
        for index, tags in enumerate(records.tags):
            for position, tag in enumerate(tags):
                if tag not in known:
                    raise records.error(
                        index,
                        f"tag {tag!r} is not in the label set taken from {origin} ({', '.join(labels)})",
                        position,
                    )
