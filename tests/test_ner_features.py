import numpy as np
import pytest

from mossrl_hf.data.decoding import WordTagger
from mossrl_hf.data.ner_features import IGNORE_INDEX, build_ner_features, window_starts
from mossrl_hf.data.sentences import SentenceRecords

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
LABEL2ID = {label: index for index, label in enumerate(LABELS)}
ARGMAX = WordTagger(tuple(LABELS), "IOB2", "argmax")


def one_hot_scores(label_ids) -> np.ndarray:
    """Log-probability-like scores that make each position's label id the clear winner (-100: all equal)."""
    ids = np.asarray(label_ids)
    scores = np.full((*ids.shape, len(LABELS)), -10.0)
    for index in np.ndindex(ids.shape):
        if ids[index] >= 0:
            scores[(*index, ids[index])] = 0.0
    return scores


def records_of(*sentences) -> SentenceRecords:
    records = SentenceRecords(source="<test>")
    for words, tags in sentences:
        records.add(list(words), list(tags), None)
    return records


def pieces(tokenizer, words):
    return [len(tokenizer.tokenize(word)) for word in words]


def test_first_sub_token_carries_the_label(bert_tokenizer):
    words, tags = ["Johnx", "visited", "Londonz"], ["B-PER", "O", "B-LOC"]
    assert pieces(bert_tokenizer, words) == [2, 1, 2]  # "john ##x", "visited", "london ##z"
    features = build_ner_features(records_of((words, tags)), bert_tokenizer, LABEL2ID, 64, 8)
    assert len(features) == 1
    row = features[0]
    assert row["labels"] == [IGNORE_INDEX, 1, IGNORE_INDEX, 0, 3, IGNORE_INDEX, IGNORE_INDEX]
    assert row["word_index"] == [-1, 0, -1, 1, 2, -1, -1]
    assert (
        row["input_ids"][0] == bert_tokenizer.cls_token_id
        and row["input_ids"][-1] == bert_tokenizer.sep_token_id
    )


def test_label_all_tokens_turns_b_into_i(bert_tokenizer):
    features = build_ner_features(
        records_of((["Johnx", "Londonz"], ["B-PER", "I-PER"])),
        bert_tokenizer,
        LABEL2ID,
        64,
        8,
        label_all_tokens=True,
    )
    assert features[0]["labels"] == [IGNORE_INDEX, 1, 2, 2, 2, IGNORE_INDEX]


def test_window_starts_cover_everything_with_overlap():
    assert window_starts(10, 20, 4) == [0]
    starts = window_starts(100, 30, 10)
    assert starts[0] == 0 and starts[-1] == 70
    assert all(b - a <= 20 for a, b in zip(starts, starts[1:], strict=False))


def test_long_sentence_comes_back_word_for_word(bert_tokenizer):
    words = ["john", "smith", "visited", "london", "."] * 80  # 400 words
    tags = ["B-PER", "I-PER", "O", "B-LOC", "O"] * 80
    features = build_ner_features(records_of((words, tags)), bert_tokenizer, LABEL2ID, 32, 8)
    assert len(features) > 10 and max(len(ids) for ids in features["input_ids"]) <= 32
    # Every word is read back from exactly one window position.
    read_back = sorted(w for row in features["word_index"] for w in row if w >= 0)
    assert read_back == list(range(400))
    # Feed the gold label ids back as "predictions": re-assembly must reproduce the tags exactly.
    width = max(len(row) for row in features["labels"])
    predictions = np.full((len(features), width), -100)
    for row, labels in enumerate(features["labels"]):
        predictions[row, : len(labels)] = labels
    tags_back = ARGMAX.tags(features["sentence"], features["word_index"], one_hot_scores(predictions), [400])
    assert tags_back == [tags]


def test_owner_window_gives_the_most_context(bert_tokenizer):
    words = [f"{c}" for c in "abcdefghijklmnopqrstuvwxyz"]  # one piece per word
    features = build_ner_features(records_of((words, ["O"] * 26)), bert_tokenizer, LABEL2ID, 12, 4)
    # Width 10, step 6: windows start at 0, 6, 12, 16. Word 7 is 2 tokens from the edge of window 0 and
    # 1 from the edge of window 1; word 8 is 1 from the edge of window 0 and 2 in window 1.
    owner = {w: row for row, index in enumerate(features["word_index"]) for w in index if w >= 0}
    assert owner[7] == 0 and owner[8] == 1
    assert owner[0] == 0 and owner[25] == len(features) - 1


def test_word_without_sub_tokens_is_predicted_o(bert_tokenizer):
    words, tags = ["john", "\u200b", "london"], ["B-PER", "O", "B-LOC"]
    features = build_ner_features(records_of((words, tags)), bert_tokenizer, LABEL2ID, 64, 8)
    indexes = [w for w in features[0]["word_index"] if w >= 0]
    assert indexes == [0, 2]
    predictions = np.array([[0, 1, 3, 0]])
    tagged = ARGMAX.tags([0], features["word_index"], one_hot_scores(predictions), [3])
    assert tagged == [["B-PER", "O", "B-LOC"]]


def test_unlabelled_features_for_new_text(bert_tokenizer):
    features = build_ner_features(records_of((["john"], ["O"])), bert_tokenizer, None, 64, 8)
    assert set(features[0]["labels"]) == {IGNORE_INDEX}


def test_roberta_pieces_align(tiny_roberta_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_roberta_dir, add_prefix_space=True)
    words, tags = ["John", "Smith", "visited", "Zqx"], ["B-PER", "I-PER", "O", "B-LOC"]
    features = build_ner_features(records_of((words, tags)), tokenizer, LABEL2ID, 64, 8)
    row = features[0]
    assert [w for w in row["word_index"] if w >= 0] == [0, 1, 2, 3]
    assert [label for label in row["labels"] if label != IGNORE_INDEX] == [1, 2, 0, 3]
    assert row["input_ids"][0] == tokenizer.bos_token_id


@pytest.mark.parametrize("stride", [0, 3])
def test_windows_never_exceed_max_length(bert_tokenizer, stride):
    words = ["johnxyz"] * 50
    features = build_ner_features(records_of((words, ["O"] * 50)), bert_tokenizer, LABEL2ID, 16, stride)
    assert all(len(ids) <= 16 for ids in features["input_ids"])
    assert sorted(w for row in features["word_index"] for w in row if w >= 0) == list(range(50))
