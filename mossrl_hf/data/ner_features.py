"""NER tokenization and label alignment, with windows for long sentences, and the way back to words.

Each sentence is tokenized once without special tokens. A sentence that does not fit in `max_length`
becomes overlapping windows of sub-tokens (`stride` tokens shared by neighbours). In every window the first
sub-token of a word carries the word's label and the other pieces -100 (or, with `label_all_tokens`, the
continuation tag). Each word is *read back* from exactly one position: its first sub-token in the window
where that token has the most context on both sides. Words that produce no sub-token (a lone control
character) have no position and come back as `O`, so every sentence returns one tag per word.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import numpy as np

from .sentences import SentenceRecords
from .tagging import continuation_tag

IGNORE_INDEX = -100
MODEL_COLUMNS = ["input_ids", "attention_mask", "labels"]


@dataclass(frozen=True)
class SpecialTokens:
    """The ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>)."""

    prefix: list[int]
    suffix: list[int]

    @classmethod
    def of(cls, tokenizer) -> "SpecialTokens":
        encoding = tokenizer([["a"]], is_split_into_words=True, add_special_tokens=True)
        ids, word_ids = encoding["input_ids"][0], encoding.word_ids(0)
        content = [position for position, word in enumerate(word_ids) if word is not None]
        return cls(prefix=ids[: content[0]], suffix=ids[content[-1] + 1 :])


def window_starts(length: int, width: int, stride: int) -> list[int]:
    """Start offsets of windows of `width` tokens covering `length` tokens, neighbours sharing `stride`."""
    if length <= width:
        return [0]
    step = width - stride
    starts = list(range(0, length - width, step))
    return [*starts, length - width]


def _owner_windows(first_positions: dict[int, int], starts: list[int], width: int) -> dict[int, int]:
    """For each word, the window whose view of its first sub-token has the most context."""
    if len(starts) == 1:  # most sentences: one window holds them whole
        return dict.fromkeys(first_positions, 0)
    owners = {}
    for word, position in first_positions.items():
        best, best_context = 0, -1
        for window, start in enumerate(starts):
            if start <= position < start + width:
                context = min(position - start, start + width - 1 - position)
                if context > best_context:
                    best, best_context = window, context
        owners[word] = best
    return owners


class WordPieces:
    """Callable: sentences (lists of words) -> (sub-token ids, word index of each sub-token) per sentence,
    what `tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)` returns.

    With pre-split words a fast tokenizer tokenizes each word on its own, so a sentence's pieces are its
    words' pieces one after the other. Most words of a text repeat, so each distinct word is tokenized once
    and remembered (up to `max_words` of them; then the memory starts again): half the tokenizer's time on
    CoNLL's test set, more on a corpus."""

    def __init__(self, tokenizer, max_words: int = 100_000):
        self.tokenizer, self.max_words = tokenizer, max_words
        self._known: dict[str, list[int]] = {}

    def __call__(self, sentences: Sequence[Sequence[str]]) -> tuple[list[list[int]], list[list[int]]]:
        distinct = dict.fromkeys(word for words in sentences for word in words)
        known = self._known  # this call's own reference: another thread may start the memory again
        new = [word for word in distinct if word not in known]
        if len(known) + len(new) > self.max_words:
            known = self._known = {}
            new = list(distinct)
        if new:
            one_word_rows = [[word] for word in new]
            encoded = self.tokenizer(one_word_rows, is_split_into_words=True, add_special_tokens=False)
            known.update(zip(new, encoded["input_ids"], strict=True))
        all_ids, all_owners = [], []
        for words in sentences:
            ids, owners = [], []
            for index, word in enumerate(words):
                pieces = known[word]
                ids += pieces
                owners += [index] * len(pieces)
            all_ids.append(ids)
            all_owners.append(owners)
        return all_ids, all_owners


def _sentence_features(token_ids, word_ids, tags, label2id, special: SpecialTokens, width, stride, label_all):
    first_positions: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        first_positions.setdefault(word, position)
    starts = window_starts(len(token_ids), width, stride)
    owners = _owner_windows(first_positions, starts, width)
    before, after = len(special.prefix), len(special.suffix)
    for window, start in enumerate(starts):
        span = range(start, min(start + width, len(token_ids)))
        labels, word_index = [], []
        for position in span:
            word = word_ids[position]
            is_first = first_positions[word] == position
            word_index.append(word if is_first and owners[word] == window else -1)
            if tags is None:
                labels.append(IGNORE_INDEX)
            elif is_first:
                labels.append(label2id[tags[word]])
            elif label_all:
                labels.append(label2id.get(continuation_tag(tags[word]), label2id[tags[word]]))
            else:
                labels.append(IGNORE_INDEX)
        input_ids = special.prefix + list(token_ids[start : span.stop]) + special.suffix
        yield {
            "input_ids": input_ids,
            "attention_mask": [1] * len(input_ids),
            "labels": [IGNORE_INDEX] * before + labels + [IGNORE_INDEX] * after,
            "word_index": [-1] * before + word_index + [-1] * after,
        }


def _featurizer(word_pieces: WordPieces, label2id: dict[str, int] | None, max_length, stride, label_all):
    """A function from a batch of columns (`words`, `sentence`, optional `tags`) to feature columns."""
    special = SpecialTokens.of(word_pieces.tokenizer)
    width = max_length - len(special.prefix) - len(special.suffix)

    def featurize(batch: dict[str, list]) -> dict[str, list]:
        all_ids, all_owners = word_pieces(batch["words"])
        rows: dict[str, list] = {key: [] for key in [*MODEL_COLUMNS, "word_index", "sentence"]}
        for row, sentence in enumerate(batch["sentence"]):
            tags = batch["tags"][row] if label2id is not None else None
            for feature in _sentence_features(
                all_ids[row], all_owners[row], tags, label2id, special, width, stride, label_all
            ):
                for key, value in feature.items():
                    rows[key].append(value)
                rows["sentence"].append(sentence)
        return rows

    return featurize


def _columns(records: SentenceRecords, with_tags: bool) -> dict[str, list]:
    columns = {"words": records.words, "sentence": list(range(len(records)))}
    if with_tags:
        columns["tags"] = records.tags
    return columns


def build_ner_features(
    records: SentenceRecords,
    tokenizer,
    label2id: dict[str, int] | None,
    max_length: int,
    stride: int,
    label_all_tokens: bool = False,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """One row per window: model inputs, `labels`, `sentence` (its index) and `word_index` (see module doc).

    Without `label2id` (tagging new text) the labels are all -100.
    """
    with_tags = label2id is not None
    raw = datasets.Dataset.from_dict(_columns(records, with_tags))
    return raw.map(
        _featurizer(WordPieces(tokenizer), label2id, max_length, stride, label_all_tokens),
        batched=True,
        remove_columns=raw.column_names,
        num_proc=num_proc,
        desc="Tokenizing and aligning labels" if with_tags else "Tokenizing",
    )


def ner_feature_columns(
    records: SentenceRecords, word_pieces: WordPieces, max_length: int, stride: int
) -> dict[str, list]:
    """The rows `build_ner_features` makes for untagged text, as plain columns: tagging new text in one
    process needs no Arrow table (building one costs more than tokenizing). `word_pieces`, kept between
    calls, remembers the words it has tokenized."""
    return _featurizer(word_pieces, None, max_length, stride, False)(_columns(records, False))


def gather_word_scores(
    sentences: Sequence[int],
    word_indexes: Sequence[Sequence[int]],
    token_scores,
    sentence_lengths: Sequence[int],
    no_token_scores: np.ndarray,
) -> list[np.ndarray]:
    """Per sentence, a [words, labels] array of scores read from each word's owning window position.

    `token_scores[row][position]` holds the label scores of a window token. Words with no sub-token get
    `no_token_scores` (which favours O)."""
    scores = [np.tile(no_token_scores, (length, 1)) for length in sentence_lengths]
    for row, (sentence, word_index) in enumerate(zip(sentences, word_indexes, strict=True)):
        row_scores = token_scores[row]
        for position, word in enumerate(word_index):
            if word >= 0:
                scores[sentence][word] = row_scores[position]
    return scores


def no_token_scores(labels: Sequence[str]) -> np.ndarray:
    """Log-probabilities that make a word without sub-tokens an O."""
    return np.array([0.0 if label == "O" else -1e4 for label in labels])
