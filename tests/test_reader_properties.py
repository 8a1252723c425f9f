"""Property-based tests of the readers (hypothesis): for any generated file, a reader returns exactly the
sentences, rows or records written, or raises the project's error type; never another exception."""

import contextlib
import csv
import gzip
import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mossrl_hf.configs import ClassificationDataArguments, NerDataArguments, PreferenceDataArguments
from mossrl_hf.data.classification_data import load_classification_data
from mossrl_hf.data.conll import read_conll
from mossrl_hf.data.ner_data import load_ner_data
from mossrl_hf.data.preference_data import load_preference_data
from mossrl_hf.data.text_files import iter_json_records, iter_table_rows
from mossrl_hf.errors import DataError, UserError
from tests.conftest import write

# Modest: the whole module runs in seconds. tmp_path is shared by a test's examples (each rewrites its file).
PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Any character but surrogates (not encodable), and U+FEFF, which at the very start of a file is taken for a
# byte-order mark and dropped.
CHARACTER = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff")
TEXT = st.text(CHARACTER, max_size=12)
TOKEN = st.text(CHARACTER.filter(lambda c: not c.isspace()), min_size=1, max_size=8)
WORD = TOKEN.filter(lambda word: word != "-DOCSTART-")
NEWLINE = st.sampled_from(["\n", "\r\n"])
LINE_BREAKS = re.compile(r"\r\n|\r|\n")


# --- CoNLL -------------------------------------------------------------------------------------------------


@st.composite
def conll_files(draw):
    """(file text, sentences as [(word, tag)], line of each sentence's first word)."""
    sentences = draw(st.lists(st.lists(st.tuples(WORD, TOKEN, TOKEN), min_size=1, max_size=5), min_size=1))
    separator, newline = draw(st.sampled_from([" ", "\t", "  "])), draw(NEWLINE)
    with_middle_column = draw(st.booleans())  # word POS tag, or word tag

    def line(*columns: str) -> str:
        return separator.join(columns if with_middle_column else (columns[0], columns[-1]))

    lines = [line("-DOCSTART-", "-X-", "O"), ""] if draw(st.booleans()) else []
    starts = []
    for sentence in sentences:
        starts.append(len(lines) + 1)
        lines += [line(*columns) for columns in sentence]
        lines.append(draw(st.sampled_from(["", " ", "\t", " \t "])))  # a blank or white-space-only break
    text = draw(st.sampled_from(["", "\ufeff"])) + newline.join(lines) + draw(st.sampled_from(["", newline]))
    return text, [[(word, tag) for word, _, tag in sentence] for sentence in sentences], starts


@PROPERTY
@given(conll_files())
def test_conll_reader_returns_the_sentences_written(tmp_path, generated):
    text, sentences, starts = generated
    records = read_conll(write(tmp_path / "t.txt", text))
    assert [
        list(zip(w, t, strict=True)) for w, t in zip(records.words, records.tags, strict=True)
    ] == sentences
    assert records.lines == starts


CONLL_PIECES = st.sampled_from(
    ["Ann", "B-PER", "I-PER", "O", "b-x", "S-X", "E-X", "-DOCSTART-", " ", "\t", "\n", "\r\n", "\r", "\ufeff"]
)


@PROPERTY
@given(
    st.one_of(st.binary(max_size=200), st.lists(CONLL_PIECES, max_size=40).map("".join)), st.integers(-3, 3)
)
def test_conll_reader_fails_only_with_data_errors(tmp_path, content, tag_column):
    as_bytes = content if isinstance(content, bytes) else content.encode()
    # As .gz: the content itself (rarely gzip), and a gzip copy cut short.
    for name, data in [("t.txt", content), ("t.txt.gz", content), ("u.txt.gz", gzip.compress(as_bytes)[:-9])]:
        path = write(tmp_path / name, data)
        try:
            read_conll(path, tag_column)
            load_ner_data(NerDataArguments(train_file=path, tag_column=tag_column))
        except UserError:
            pass


# --- CSV and TSV -------------------------------------------------------------------------------------------


@st.composite
def csv_files(draw):
    """(file text, [(text, label)], line of each row) written by the csv module."""
    rows = draw(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6))
    out = io.StringIO()
    # Python 3.11's writer quotes a field only for the characters of its lineterminator: with "\n" alone, a
    # field holding "\r" goes out unquoted and no reader can tell it from a line end.
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = "\r\n" if quoting == csv.QUOTE_MINIMAL else draw(NEWLINE)
    writer = csv.writer(out, lineterminator=newline, quoting=quoting)
    writer.writerow(["text", "label"])
    starts = []
    for row in rows:
        starts.append(len(LINE_BREAKS.findall(out.getvalue())) + 1)
        writer.writerow(row)
    return out.getvalue(), rows, starts


@PROPERTY
@given(csv_files())
def test_csv_reader_returns_the_rows_written(tmp_path, generated):
    text, rows, starts = generated
    path = write(tmp_path / "t.csv", text)
    read = list(iter_table_rows(path))
    assert [(row["text"], row["label"]) for _, row in read] == rows
    assert [line for line, _ in read] == starts


@PROPERTY
@given(csv_files())
def test_classification_reader_returns_the_rows_or_refuses_a_blank_one(tmp_path, generated):
    text, rows, _ = generated
    path = write(tmp_path / "t.csv", text)
    if all(text.strip() and label.strip() for text, label in rows):
        train = load_classification_data(ClassificationDataArguments(train_file=path))["train"]
        assert list(zip(train.texts, train.labels, strict=True)) == rows
    else:
        with pytest.raises(DataError):
            load_classification_data(ClassificationDataArguments(train_file=path))


TSV_FIELD = st.text(CHARACTER.filter(lambda c: c not in "\t\r\n"), max_size=12)


@PROPERTY
@given(st.lists(st.tuples(TSV_FIELD, TSV_FIELD), min_size=1, max_size=6), NEWLINE)
def test_tsv_reader_takes_fields_literally(tmp_path, rows, newline):
    text = newline.join(["sentence\tlabel", *("\t".join(row) for row in rows)]) + newline
    read = list(iter_table_rows(write(tmp_path / "t.tsv", text)))
    assert [(row["sentence"], row["label"]) for _, row in read] == rows


@PROPERTY
@given(st.one_of(st.binary(max_size=200), st.text(st.sampled_from('ab,"\t\r\n \x00'), max_size=60)))
def test_table_readers_fail_only_with_data_errors(tmp_path, content):
    for name in ("t.csv", "t.tsv"):
        path = write(tmp_path / name, content)
        try:
            list(iter_table_rows(path))
            load_classification_data(ClassificationDataArguments(train_file=path))
        except UserError:
            pass


# --- JSON Lines and JSON arrays ----------------------------------------------------------------------------

JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON_VALUE = st.recursive(
    JSON_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner)
)
OBJECTS = st.lists(st.dictionaries(TEXT, JSON_VALUE, max_size=4), min_size=1, max_size=5)


@PROPERTY
@given(OBJECTS, NEWLINE, st.booleans(), st.sampled_from(["jsonl", "json"]))
def test_json_reader_returns_the_records_written(tmp_path, records, newline, ascii_only, kind):
    if kind == "jsonl":
        text = newline.join(json.dumps(record, ensure_ascii=ascii_only) for record in records) + newline
    else:
        text = json.dumps(records, ensure_ascii=ascii_only, indent=1).replace("\n", newline)
    read = list(iter_json_records(write(tmp_path / f"t.{kind}", text)))
    assert [record for _, record in read] == records
    lines = [line for line, _ in read]
    assert lines == sorted(set(lines))


@st.composite
def iob2_sentences(draw):
    """A sentence in valid IOB2: entities open with B- and continue with I- of their type."""
    words = draw(st.lists(WORD, min_size=1, max_size=6))
    tags, previous = [], "O"
    for _ in words:
        choice = draw(st.sampled_from(["O", "B-PER", "B-LOC", "I"]))
        tag = f"I-{previous[2:]}" if choice == "I" and previous != "O" else ("O" if choice == "I" else choice)
        tags.append(tag)
        previous = tag
    return words, tags


@PROPERTY
@given(st.lists(iob2_sentences(), min_size=1, max_size=5), NEWLINE)
def test_ner_json_lines_return_the_sentences_written(tmp_path, sentences, newline):
    text = newline.join(json.dumps({"tokens": w, "ner_tags": t}, ensure_ascii=False) for w, t in sentences)
    train = load_ner_data(NerDataArguments(train_file=write(tmp_path / "t.jsonl", text))).splits["train"]
    assert list(zip(train.words, train.tags, strict=True)) == sentences


@PROPERTY
@given(st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=5))
def test_preference_reader_returns_the_pairs_or_refuses_a_bad_one(tmp_path, triples):
    text = "".join(json.dumps({"prompt": p, "chosen": c, "rejected": r}) + "\n" for p, c, r in triples)
    path = write(tmp_path / "p.jsonl", text)
    if all(p.strip() and c.strip() and r.strip() and c != r for p, c, r in triples):
        train = load_preference_data(PreferenceDataArguments(train_file=path))[0]["train"]
        assert list(zip(train.prompts, train.chosen, train.rejected, strict=True)) == triples
    else:
        with pytest.raises(DataError):
            load_preference_data(PreferenceDataArguments(train_file=path))


KEYS = st.sampled_from(["tokens", "ner_tags", "text", "label", "prompt", "chosen", "rejected", "margin"])
ANY_RECORDS = st.lists(st.one_of(JSON_VALUE, st.dictionaries(KEYS, JSON_VALUE, max_size=5)), max_size=4)


@PROPERTY
@given(st.one_of(ANY_RECORDS.map(lambda rs: "\n".join(map(json.dumps, rs))), st.text(max_size=100)))
def test_json_readers_fail_only_with_user_errors(tmp_path, text):
    path = write(tmp_path / "t.jsonl", text)
    readers = [
        lambda: load_ner_data(NerDataArguments(train_file=path, label_names=["O", "B-X", "I-X"])),
        lambda: load_classification_data(ClassificationDataArguments(train_file=path)),
        lambda: load_preference_data(PreferenceDataArguments(train_file=path, margin_column="margin")),
    ]
    for read in readers:
        with contextlib.suppress(UserError):
            read()
