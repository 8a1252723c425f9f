"""CoNLL column files: one word per line, columns separated by spaces or tabs, blank lines between sentences,
`-DOCSTART-` lines between documents."""

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import DataError, quote
from .sentences import SentenceRecords
from .text_files import iter_lines

DOCSTART = "-DOCSTART-"


def _split_columns(line: str, tab_separated: bool) -> list[str]:
    return line.split("\t") if tab_separated else line.split()


def read_conll(path: str, tag_column: int = -1) -> SentenceRecords:
    """Read a CoNLL column file. The first word line fixes the column count and the separator."""
    records = SentenceRecords(source=path, line_per_word=True)
    for sentence in iter_conll(path, tag_column):
        records.add(sentence.words, sentence.tags, sentence.line, sentence.document)
    if not records:
        raise DataError(path, 1, "no sentences found (the file is empty or holds only -DOCSTART- lines)")
    return records


@dataclass
class ConllSentence:
    words: list[str]
    tags: list[str]
    line: int  # the line of its first word
    document: int


def iter_conll(path: str, tag_column: int = -1) -> Iterator[ConllSentence]:
    """The sentences of a CoNLL column file one by one (memory does not grow with the file)."""
    column_count = tab_separated = first_word_line = None
    sentence = ConllSentence([], [], 0, 0)
    document = 0
    for number, raw_line in iter_lines(path):
        line = raw_line.rstrip("\r")
        if not line.strip():
            if sentence.words:
                yield sentence
            sentence = ConllSentence([], [], 0, document)
            continue
        if column_count is None:
            tab_separated = "\t" in line
        columns = _split_columns(line.strip() if not tab_separated else line, tab_separated)
        if columns[0] == DOCSTART:
            if sentence.words:
                yield sentence
            document += 1
            sentence = ConllSentence([], [], 0, document)
            continue
        if column_count is None:
            column_count, first_word_line = len(columns), number
            _check_tag_column(path, number, line, tag_column, column_count)
        if len(columns) != column_count:
            raise DataError(
                path,
                number,
                f"expected {column_count} columns (as on line {first_word_line}), "
                f"found {len(columns)}: {quote(line)}",
            )
        if not sentence.words:
            sentence.line = number
        sentence.words.append(columns[0])
        sentence.tags.append(columns[tag_column])
    if sentence.words:
        yield sentence


def _check_tag_column(path: str, number: int, line: str, tag_column: int, column_count: int) -> None:
    if not -column_count <= tag_column < column_count or column_count < 2:
        raise DataError(
            path,
            number,
            f"--tag_column {tag_column} does not exist in a line of {column_count} "
            f"column(s) (a word and a tag are needed): {quote(line)}",
        )
