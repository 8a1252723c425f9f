"""Seeded perturbations of words, to score a test split a second time (`--test_noise`): how much a model
loses to typos, to case changes, to dropped words.

- `typos`: one character of a word is replaced, deleted, inserted or swapped with its neighbour; the word
  stays one non-empty word, so tags stay aligned. Words of one character are left alone.
- `case`: a word is written in upper case, lower case or title case (one that differs, if any does).
- `drop_word`: a word is left out. For NER only words tagged O (no entity loses a word); at least one word
  of each sentence is kept.

Each word is perturbed with probability `rate`, decided by a `random.Random` that the caller seeds, so the
same seed gives the same noisy test set.
"""

import dataclasses
import random
import string

NOISE_KINDS = ("typos", "case", "drop_word")
_LETTERS = string.ascii_lowercase


def typo(word: str, rng: random.Random) -> str:
    """`word` with one character changed (replaced, deleted, inserted, or swapped with the next one)."""
    if len(word) < 2:
        return word
    position = rng.randrange(len(word))
    operation = rng.choice(("replace", "delete", "insert", "swap"))
    if operation == "swap" and position < len(word) - 1 and word[position] != word[position + 1]:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if operation == "delete":
        return word[:position] + word[position + 1 :]
    if operation == "insert":
        return word[:position] + rng.choice(_LETTERS) + word[position:]
    replacement = rng.choice([letter for letter in _LETTERS if letter != word[position].lower()])
    if word[position].isupper():
        replacement = replacement.upper()
    return word[:position] + replacement + word[position + 1 :]


def recase(word: str, rng: random.Random) -> str:
    """`word` in another case: upper, lower or title, one that changes it when one does."""
    forms = [form for form in (word.upper(), word.lower(), word.title()) if form != word]
    return rng.choice(forms) if forms else word


def noisy_words(
    words: list[str], tags: list[str] | None, kind: str, rate: float, rng: random.Random
) -> tuple[list[str], list[str] | None]:
    """One sentence's words (and tags, kept aligned) with `kind` noise on each word with probability
    `rate`. With tags, `drop_word` drops only words tagged O."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {', '.join(NOISE_KINDS)}, not {kind!r}")
    if kind != "drop_word":
        change = typo if kind == "typos" else recase
        return [change(word, rng) if rng.random() < rate else word for word in words], tags
    keep = [not ((tags is None or tags[index] == "O") and rng.random() < rate) for index in range(len(words))]
    if not any(keep):
        keep[rng.randrange(len(words))] = True
    kept_words = [word for word, kept in zip(words, keep, strict=True) if kept]
    kept_tags = None if tags is None else [tag for tag, kept in zip(tags, keep, strict=True) if kept]
    return kept_words, kept_tags


def noisy_text(text: str, kind: str, rate: float, rng: random.Random) -> str:
    """A text's white-space separated words with `kind` noise, joined by single spaces."""
    words = text.split()
    if not words:
        return text
    return " ".join(noisy_words(words, None, kind, rate, rng)[0])


def noisy_sentences(records, kind: str, rate: float, seed: int):
    """A copy of a split's `SentenceRecords` with noisy words (tags aligned), seeded."""
    rng = random.Random(seed)
    noisy = [
        noisy_words(words, tags, kind, rate, rng)
        for words, tags in zip(records.words, records.tags, strict=True)
    ]
    # Lines point at the clean file: for noisy words they mean nothing, so errors name example numbers.
    return dataclasses.replace(
        records,
        source=f"{records.source} ({kind} noise)",
        words=[words for words, _ in noisy],
        tags=[tags for _, tags in noisy],
        lines=[None] * len(records),
    )


def noisy_text_records(records, kind: str, rate: float, seed: int):
    """A copy of a split's `TextRecords` with noisy texts (and text pairs), seeded."""
    rng = random.Random(seed)
    texts = [noisy_text(text, kind, rate, rng) for text in records.texts]
    pairs = None if records.pairs is None else [noisy_text(text, kind, rate, rng) for text in records.pairs]
    return dataclasses.replace(
        records,
        source=f"{records.source} ({kind} noise)",
        texts=texts,
        pairs=pairs,
        lines=[None] * len(records),
    )
