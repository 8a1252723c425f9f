import json

import pytest

from mossrl_hf.configs import NerDataArguments
from mossrl_hf.data.conll import read_conll
from mossrl_hf.data.ner_data import load_ner_data, resolve_labels
from mossrl_hf.errors import ConfigError, DataError
from tests.conftest import FIXTURES, write


def load(**kwargs):
    return load_ner_data(NerDataArguments(**kwargs))


def test_conll_reader_handles_docstart_blank_lines_and_columns():
    records = read_conll(str(FIXTURES / "ner_train.txt"))
    assert len(records) == 4
    assert records.words[0] == ["John", "Smith", "visited", "London", "."]
    assert records.tags[0] == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert records.lines[0] == 3 and records.lines[2] == 18  # 1-based physical lines
    assert records.documents == [1, 1, 2, 2]


def test_tab_separated_crlf_and_tag_column(tmp_path):
    path = write(tmp_path / "t.tsv", "Ann\tB-PER\tNNP\r\nruns\tO\tVBZ\r\n\r\nBob\tB-PER\tNNP\r\n")
    records = read_conll(path, tag_column=1)
    assert records.tags == [["B-PER", "O"], ["B-PER"]]
    assert read_conll(path, tag_column=-1).tags[0] == ["NNP", "VBZ"]


def test_arbitrary_label_names(tmp_path):
    path = write(tmp_path / "t.txt", "Dune B-creative-work\nrocks O\n")
    data = load(train_file=path)
    assert resolve_labels(data, NerDataArguments(train_file=path), None, True) == ["O", "B-creative-work"]


def test_shared_conll2003_loads_if_present():
    from pathlib import Path

    valid = Path(__file__).resolve().parents[2] / "shared" / "data" / "conll2003" / "valid.txt"
    if not valid.is_file():
        pytest.skip("../shared/data is not beside this checkout")
    data = load(validation_file=str(valid))
    assert len(data.splits["validation"]) == 3250 and data.scheme == "IOB2"


def test_json_lines_and_json_array(tmp_path):
    rows = [
        {"tokens": ["Ann", "runs"], "ner_tags": ["B-PER", "O"]},
        {"tokens": ["Oslo"], "ner_tags": ["B-LOC"]},
    ]
    jsonl = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    array = write(tmp_path / "a.json", json.dumps(rows, indent=1))
    for path in (jsonl, array):
        records = load(train_file=path).splits["train"]
        assert records.words == [["Ann", "runs"], ["Oslo"]] and records.tags[1] == ["B-LOC"]
    assert load(train_file=array).splits["train"].lines == [2, 12]


def test_json_int_tags_with_label_names_and_custom_keys(tmp_path):
    path = write(tmp_path / "a.jsonl", json.dumps({"w": ["Ann", "runs"], "t": [1, 0]}) + "\n")
    data = load(train_file=path, tokens_column="w", tags_column="t", label_names=["O", "B-PER"])
    assert data.splits["train"].tags == [["B-PER", "O"]]


def test_saved_dataset_with_class_labels(tmp_path):
    import datasets

    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
        }
    )
    dataset = datasets.Dataset.from_dict(
        {"tokens": [["Ann", "Lee"]], "ner_tags": [[1, 2]]}, features=features
    )
    datasets.DatasetDict({"train": dataset, "validation": dataset}).save_to_disk(tmp_path / "saved")
    data = load(dataset_name=str(tmp_path / "saved"))
    assert set(data.splits) == {"train", "validation"}
    assert data.splits["validation"].tags == [["B-PER", "I-PER"]]


def test_iob1_detected_and_converted(tmp_path):
    path = write(tmp_path / "t.txt", "Ann I-PER\nLee I-PER\nin O\nOslo I-LOC\n")
    assert load(train_file=path).scheme == "IOB1"
    converted = load(train_file=path, tag_scheme="iob2")
    assert converted.scheme == "IOB2"
    assert converted.splits["train"].tags == [["B-PER", "I-PER", "O", "B-LOC"]]


def test_max_samples_keep_the_first_sentences():
    data = load(train_file=str(FIXTURES / "ner_train.txt"), max_train_samples=2)
    assert len(data.splits["train"]) == 2


# --- bad input: one line, PATH:LINE, the offending value quoted ---------------------------------------


def error_of(**kwargs) -> str:
    with pytest.raises((DataError, ConfigError)) as caught:
        data = load(**kwargs)
        resolve_labels(data, NerDataArguments(**kwargs), None, True)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_wrong_column_count(tmp_path):
    path = write(tmp_path / "t.txt", "-DOCSTART- -X- O\n\nAnn NNP B-PER\nruns VBZ\n")
    assert error_of(train_file=path) == f"{path}:4: expected 3 columns (as on line 3), found 2: 'runs VBZ'"


def test_tag_outside_label_set(tmp_path):
    train = write(tmp_path / "train.txt", "Ann B-PER\n\nOslo B-LOC\n")
    test = write(tmp_path / "test.txt", "-DOCSTART- O\n\nAnn B-PER\nat O\nAcme B-ORG\n")
    message = error_of(train_file=train, test_file=test)
    assert message.startswith(f"{test}:5: tag 'B-ORG' is not in the label set")


def test_label_names_make_unseen_tags_valid(tmp_path):
    train = write(tmp_path / "train.txt", "Ann B-PER\n")
    test = write(tmp_path / "test.txt", "Acme B-ORG\n")
    args = NerDataArguments(train_file=train, test_file=test, label_names=["O", "B-PER", "B-ORG"])
    assert resolve_labels(load_ner_data(args), args, None, True) == ["O", "B-PER", "B-ORG"]


@pytest.mark.parametrize("content", ["", "\n\n", "-DOCSTART- -X- O\n\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "t.txt", content)
    assert (
        error_of(train_file=path)
        == f"{path}:1: no sentences found (the file is empty or holds only -DOCSTART- lines)"
    )


def test_not_utf8(tmp_path):
    path = write(tmp_path / "t.txt", "Ann B-PER\n\nM\xfcnchen B-LOC\n".encode("latin-1"))
    assert error_of(train_file=path).startswith(f"{path}:3: not UTF-8 text")


def test_json_length_mismatch_and_malformed_line(tmp_path):
    path = write(
        tmp_path / "a.jsonl",
        '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["a", "b"], "ner_tags": ["O"]}\n',
    )
    assert error_of(train_file=path).startswith(f"{path}:2: 2 words but 1 tags")
    path = write(tmp_path / "b.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n\n{"tokens": ["a"\n')
    assert error_of(train_file=path).startswith(f"{path}:3: malformed JSON")


def test_json_missing_key_and_int_tags_without_names(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"words": ["a"], "ner_tags": ["O"]}\n')
    assert error_of(train_file=path) == f"{path}:1: missing key 'tokens' (keys: words, ner_tags)"
    path = write(tmp_path / "b.jsonl", '{"tokens": ["a"], "ner_tags": [3]}\n')
    assert "give --label_names" in error_of(train_file=path)


def test_mixed_schemes_fail_clearly(tmp_path):
    path = write(tmp_path / "t.txt", "Ann I-PER\nruns O\n\nBob B-PER\nruns O\n")
    assert error_of(train_file=path).startswith(f"{path}:4: this file mixes tag schemes")
    train = write(tmp_path / "a.txt", "Ann I-PER\nruns O\n")
    test = write(tmp_path / "b.txt", "Ann S-PER\nruns O\n")
    assert "different tag schemes" in error_of(train_file=train, test_file=test)


def test_malformed_tag(tmp_path):
    path = write(tmp_path / "t.txt", "Ann B-PER\nruns 0\n")
    assert error_of(train_file=path).startswith(f"{path}:2: tag '0' is neither")
