import itertools

import numpy as np
import pytest

from mossrl_hf.data.decoding import allowed_transitions, best_allowed_path, decode, viterbi
from mossrl_hf.data.tagging import detect_scheme

IOB2_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES_LABELS = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


def valid_iob2(tags) -> bool:
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_constrained_fixes_an_entity_opened_with_i():
    scores = np.log(np.array([[0.6, 0.1, 0.1, 0.1, 0.1], [0.05, 0.4, 0.5, 0.025, 0.025]]))
    assert decode([scores], IOB2_LABELS, "IOB2", "argmax") == [["O", "I-PER"]]
    assert decode([scores], IOB2_LABELS, "IOB2", "constrained") == [["O", "B-PER"]]


def test_viterbi_is_the_best_valid_sequence_by_brute_force():
    rng = np.random.default_rng(0)
    allowed, first, last = allowed_transitions(IOB2_LABELS, "IOB2")
    for _ in range(30):
        scores = np.log(rng.dirichlet(np.ones(5), size=4))
        path = viterbi(scores, allowed, first, last)
        best = max(
            (p for p in itertools.product(range(5), repeat=4) if valid_iob2([IOB2_LABELS[i] for i in p])),
            key=lambda p: sum(scores[i, label] for i, label in enumerate(p)),
        )
        assert tuple(path) == best


@pytest.mark.parametrize(("labels", "scheme"), [(IOB2_LABELS, "IOB2"), (BIOES_LABELS, "BIOES")])
def test_the_argmax_shortcut_returns_viterbi_paths(labels, scheme):
    """Peaked scores make the per-word argmax valid (the shortcut), flat ones often invalid (the search)."""
    rng = np.random.default_rng(2)
    allowed, first, last = allowed_transitions(labels, scheme)
    shortcut_taken = 0
    for concentration in (0.05, 0.3, 1.0, 5.0):
        for length in (1, 2, 5, 9):
            for _ in range(25):
                scores = np.log(np.clip(rng.dirichlet(np.full(5, concentration), size=length), 1e-12, None))
                expected = viterbi(scores, allowed, first, last)
                assert best_allowed_path(scores, allowed, first, last) == expected
                shortcut_taken += expected == scores.argmax(axis=-1).tolist()
    assert 0 < shortcut_taken < 4 * 4 * 25


def test_bioes_paths_are_valid():
    rng = np.random.default_rng(1)
    for _ in range(20):
        scores = np.log(rng.dirichlet(np.ones(5), size=6))
        tags = decode([scores], BIOES_LABELS, "BIOES", "constrained")[0]
        assert detect_scheme([tags]) in ("BIOES", "IOB2")  # no I- opening, no lone B-
        assert not (tags[-1].startswith(("B-", "I-")))


@pytest.mark.parametrize("method", ["argmax", "constrained"])
def test_iob1_and_empty_sentences_use_argmax(method):
    scores = np.log(np.array([[0.1, 0.1, 0.6, 0.1, 0.1]]))
    assert decode([scores, np.zeros((0, 5))], IOB2_LABELS, "IOB1", method) == [["I-PER"], []]
