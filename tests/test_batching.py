"""The prediction batch helpers: word pieces remembered per word, numpy padding, the paused collector."""

import gc

import pytest
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding

from mossrl_hf.batching import TokenIdPadder, collector_paused
from mossrl_hf.data.ner_features import WordPieces
from mossrl_hf.errors import ConfigError
from mossrl_hf.predict import load_tagger

# Case, accents, punctuation inside words, a lone control character (no piece at all), repeats.
SENTENCES = [
    ["John", "Smith", "visited", "London", "."],
    ["Zürich", "'s", "U.S.-based", "bank", "\x07", "hired", "john", "."],
    ["london", "London", "LONDON", "Smith-Jones", "3,000", "€"],
    [],
    ["visited", "visited", "Zqxwv"],
]


def direct(tokenizer, sentences):
    encoding = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    return encoding["input_ids"], [encoding.word_ids(row) for row in range(len(sentences))]


@pytest.fixture(params=["bert", "roberta"])
def tokenizer(request, tiny_bert_dir, tiny_roberta_dir):
    if request.param == "bert":
        return AutoTokenizer.from_pretrained(tiny_bert_dir)
    return AutoTokenizer.from_pretrained(tiny_roberta_dir, add_prefix_space=True)


def test_word_pieces_equal_the_tokenizer_on_whole_sentences(tokenizer):
    pieces = WordPieces(tokenizer)
    assert pieces(SENTENCES) == direct(tokenizer, SENTENCES)
    assert pieces(SENTENCES[::-1]) == direct(tokenizer, SENTENCES[::-1])  # now from memory


def test_a_word_without_pieces_keeps_the_others_in_place(bert_tokenizer):
    ids, owners = WordPieces(bert_tokenizer)([["john", "\x07", "london"]])
    assert owners == [[0, 2]] and (ids, owners) == direct(bert_tokenizer, [["john", "\x07", "london"]])


def test_word_pieces_memory_is_bounded_and_starts_again(tokenizer):
    pieces = WordPieces(tokenizer, max_words=6)
    for sentence in SENTENCES:
        assert pieces([sentence]) == direct(tokenizer, [sentence])
        assert len(pieces._known) <= max(6, len(set(sentence)))
    assert pieces(SENTENCES) == direct(tokenizer, SENTENCES)  # more distinct words than it keeps


@pytest.mark.parametrize("side", ["right", "left"])
def test_padder_equals_the_transformers_collator(tiny_bert_dir, side):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir, padding_side=side)
    rows = [[2, 5, 6, 7, 3], [2, 9, 3], [2, 3], [2, 8, 8, 8, 8, 8, 3]]
    ours = TokenIdPadder(tokenizer)(rows)
    theirs = DataCollatorWithPadding(tokenizer)([{"input_ids": row} for row in rows])
    assert set(ours) == set(theirs) == {"input_ids", "attention_mask"}
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype == torch.int64
        assert torch.equal(ours[key], theirs[key]), key
    assert (ours["input_ids"] == tokenizer.pad_token_id).any()


def test_padder_refuses_a_tokenizer_without_a_pad_token(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    tokenizer.pad_token = None
    with pytest.raises(ConfigError, match="no padding token"):
        TokenIdPadder(tokenizer)


def test_collector_paused_restores_what_it_found():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the block fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller had it off: it stays off
    finally:
        gc.enable()


def test_the_tagger_runs_with_the_collector_paused(tagger_dir):
    tagger = load_tagger(tagger_dir)
    padder, seen = tagger.collate, []

    def watching(rows):
        seen.append(gc.isenabled())
        return padder(rows)

    tagger.collate = watching
    records = tagger([["john", "smith", "visited", "london", "."], "mary left"])
    assert [len(record["tags"]) for record in records] == [5, 2]
    assert seen == [False] and gc.isenabled()
