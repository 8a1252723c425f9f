"""The prediction helpers: word pieces remembered per word, numpy padding, the loaded objects set aside."""

import gc

import pytest
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding

from mossrl_hf.batching import TokenIdPadder, loaded_objects_set_aside
from mossrl_hf.data.ner_features import WordPieces
from mossrl_hf.errors import ConfigError
from mossrl_hf.streaming import StreamOptions, stream_predictions

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


def metaspace_tokenizer():
    """A SentencePiece-style tokenizer (XLM-R, DeBERTa-v3): BPE after a Metaspace pre-tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["<pad>", "<unk>"], show_progress=False)
    backend.train_from_iterator([" ".join(words) for words in SENTENCES] * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")


@pytest.fixture(params=["bert", "roberta", "metaspace"])
def tokenizer(request, tiny_bert_dir, tiny_roberta_dir):
    if request.param == "bert":
        return AutoTokenizer.from_pretrained(tiny_bert_dir)
    if request.param == "roberta":
        return AutoTokenizer.from_pretrained(tiny_roberta_dir, add_prefix_space=True)
    return metaspace_tokenizer()


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


def test_objects_alive_on_entry_are_set_aside_for_the_block_only():
    alive = [[index] for index in range(1000)]  # tracked containers, alive before the block
    with loaded_objects_set_aside():
        set_aside = gc.get_freeze_count()
        assert set_aside >= len(alive)
        made_inside = [[index] for index in range(1000)]
        assert gc.get_freeze_count() == set_aside and gc.is_tracked(made_inside[0])
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), loaded_objects_set_aside():
        raise RuntimeError("the block fails")
    assert gc.get_freeze_count() == 0


def test_a_streaming_run_predicts_with_the_loaded_objects_set_aside(tmp_path):
    seen = []

    def load_predictor():
        def predict(chunk):
            seen.append(gc.get_freeze_count())
            return [{"item": item} for item in chunk]

        return predict

    items = iter([(f"<test>:{line}", line) for line in range(1, 8)])
    output = tmp_path / "out.jsonl"
    options = StreamOptions(chunk_size=3, progress=False)
    written, resumed = stream_predictions(items, load_predictor, {}, str(output), lambda *_: True, options)
    assert (written, resumed) == (7, 0) and len(output.read_text().splitlines()) == 7
    assert len(seen) == 3 and min(seen) > 0
    assert gc.get_freeze_count() == 0
