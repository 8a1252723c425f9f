"""Inputs that look bad but are accepted as they are (README, "Reliability"): each is checked for the right
parse. The bad ones are in test_bad_inputs.py."""

import json

import pytest

from mossrl_hf.cli import parse_args
from mossrl_hf.configs import ClassificationDataArguments, NerDataArguments, PreferenceDataArguments
from mossrl_hf.data.classification_data import load_classification_data
from mossrl_hf.data.conll import read_conll
from mossrl_hf.data.ner_data import load_ner_data
from mossrl_hf.data.preference_data import load_preference_data
from tests.conftest import write
from tests.test_cli import NER_TYPES


def test_conll_crlf_line_endings(tmp_path):
    records = read_conll(write(tmp_path / "t.txt", "Ann B-PER\r\nruns O\r\n\r\nBob B-PER\r\n"))
    assert records.words == [["Ann", "runs"], ["Bob"]] and records.tags[1] == ["B-PER"]
    assert records.lines == [1, 4]


def test_conll_byte_order_mark(tmp_path):
    path = write(tmp_path / "t.txt", "\ufeffAnn B-PER\nruns O\n".encode())
    assert read_conll(path).words == [["Ann", "runs"]]


@pytest.mark.parametrize("separator_line", [" ", "\t", "\t\t", " \t  ", "\u3000"], ids=repr)
def test_conll_white_space_only_line_is_a_sentence_break(tmp_path, separator_line):
    for column in (" ", "\t"):
        text = f"Ann{column}B-PER\nruns{column}O\n{separator_line}\nBob{column}B-PER\n"
        records = read_conll(write(tmp_path / "t.txt", text))
        assert records.words == [["Ann", "runs"], ["Bob"]] and records.lines == [1, 4]


def test_conll_iob1_file_is_accepted_and_converted_on_request(tmp_path):

    path = write(tmp_path / "t.txt", "Ann I-PER\nLee I-PER\n\nin O\nOslo I-LOC\n")
    assert load_ner_data(NerDataArguments(train_file=path)).scheme == "IOB1"
    converted = load_ner_data(NerDataArguments(train_file=path, tag_scheme="iob2"))
    assert converted.splits["train"].tags == [["B-PER", "I-PER"], ["O", "B-LOC"]]


def test_csv_crlf_bom_and_quoted_line_breaks(tmp_path):
    text = '\ufefftext,label\r\n"two\r\nlines, quoted",positive\r\nplain \u2028 text,negative\r\n'
    path = write(tmp_path / "t.csv", text.encode())
    splits = load_classification_data(ClassificationDataArguments(train_file=path))
    assert splits["train"].texts == ["two\r\nlines, quoted", "plain \u2028 text"]
    assert splits["train"].labels == ["positive", "negative"] and splits["train"].lines == [2, 4]


def test_json_lines_bom_crlf_and_line_separator_inside_a_string(tmp_path):
    rows = [{"chosen": "a\u2028b", "rejected": "a\x85c", "prompt": "p"}, {"chosen": "x", "rejected": "y"}]
    text = "\ufeff" + "\r\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\r\n"
    splits, _ = load_preference_data(PreferenceDataArguments(train_file=write(tmp_path / "p.jsonl", text)))
    assert splits["train"].chosen == ["a\u2028b", "x"] and splits["train"].rejected == ["a\x85c", "y"]
    assert splits["train"].lines == [1, 2]


def test_yaml_exponent_without_a_dot_is_a_number(tmp_path):
    """PyYAML reads 5e-5 as a string; the option's type converts it."""
    config = write(tmp_path / "c.yaml", "learning_rate: 5e-5\nsave_strategy: 'no'\noutput_dir: o\n")
    training = parse_args(NER_TYPES, ["--config", config]).values[-1]
    assert training.learning_rate == 5e-5 and training.save_strategy.value == "no"
