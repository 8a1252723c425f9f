"""Turning per-word label scores into tags: plain argmax, or the best sequence the tag scheme allows.

A softmax tagger scores each word alone and sometimes opens an entity with I- or switches type inside one
(`B-PER I-LOC`). Constrained decoding (Viterbi over the scheme's allowed transitions, no learned weights)
returns the highest-scoring valid sequence instead.
"""

from dataclasses import dataclass

import numpy as np

from .ner_features import gather_word_scores, no_token_scores
from .tagging import BIOES, IOB2, split_tag

DECODINGS = ("constrained", "argmax")


def allowed_transitions(labels: list[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(allowed[previous, next], allowed first, allowed last) for IOB2 or BIOES labels.

    I-X (and E-X) only continue a B-X or I-X; in BIOES, B-X and I-X must be continued by I-X or E-X."""
    parsed = [split_tag(label) for label in labels]
    count = len(labels)
    allowed = np.ones((count, count), dtype=bool)
    first = np.ones(count, dtype=bool)
    last = np.ones(count, dtype=bool)
    for j, (prefix, kind) in enumerate(parsed):
        if prefix in ("I", "E"):
            first[j] = False
            for i, (previous, previous_kind) in enumerate(parsed):
                allowed[i, j] = previous in ("B", "I") and previous_kind == kind
    if scheme == BIOES:
        for i, (previous, previous_kind) in enumerate(parsed):
            if previous in ("B", "I"):
                last[i] = False
                for j, (prefix, kind) in enumerate(parsed):
                    allowed[i, j] = prefix in ("I", "E") and kind == previous_kind
    return allowed, first, last


def viterbi(scores: np.ndarray, allowed: np.ndarray, first: np.ndarray, last: np.ndarray) -> list[int]:
    """Best label path through `scores` [words, labels] (log-probabilities) using only allowed moves."""
    forbidden = np.float64(-1e9)
    best = np.where(first, scores[0], forbidden)
    back = np.zeros(scores.shape, dtype=np.int64)
    penalty = np.where(allowed, 0.0, forbidden)
    for position in range(1, len(scores)):
        candidates = best[:, None] + penalty  # [previous, next]
        back[position] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[position]
    best = np.where(last, best, best + forbidden)
    path = [int(best.argmax())]
    for position in range(len(scores) - 1, 0, -1):
        path.append(int(back[position, path[-1]]))
    return path[::-1]


def best_allowed_path(
    scores: np.ndarray, allowed: np.ndarray, first: np.ndarray, last: np.ndarray
) -> list[int]:
    """`viterbi`'s path, skipping the search when each word's best label already makes an allowed sequence
    (no path scores higher than that one, so it is the best allowed path): most sentences."""
    path = scores.argmax(axis=-1)
    if first[path[0]] and last[path[-1]] and allowed[path[:-1], path[1:]].all():
        return path.tolist()
    return viterbi(scores, allowed, first, last)


def decode(word_scores: list[np.ndarray], labels: list[str], scheme: str, method: str) -> list[list[str]]:
    """One tag per word of each sentence. Constrained decoding applies to IOB2 and BIOES; IOB1 (where I-
    may open an entity) and `argmax` take the best label of each word."""
    if method == "constrained" and scheme in (IOB2, BIOES):
        allowed, first, last = allowed_transitions(labels, scheme)
        paths = [
            best_allowed_path(scores, allowed, first, last) if len(scores) else [] for scores in word_scores
        ]
    else:
        paths = [scores.argmax(axis=-1).tolist() if len(scores) else [] for scores in word_scores]
    return [[labels[index] for index in path] for path in paths]


@dataclass(frozen=True)
class WordTagger:
    """From window scores to one tag per input word: the step shared by evaluation and `predict`."""

    labels: tuple[str, ...]
    scheme: str
    method: str = "constrained"

    def tags(self, sentences, word_indexes, token_scores, sentence_lengths) -> list[list[str]]:
        scores = gather_word_scores(
            sentences, word_indexes, token_scores, sentence_lengths, no_token_scores(self.labels)
        )
        return decode(scores, list(self.labels), self.scheme, self.method)
