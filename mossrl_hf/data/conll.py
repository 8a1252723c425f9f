"""CoNLL column files: one word per line, columns separated by spaces or tabs, blank lines between sentences,
`-DOCSTART-` lines between documents."""

from ..errors import DataError, quote
from .sentences import SentenceRecords
from .text_files import read_text

DOCSTART = "-DOCSTART-"


def _split_columns(line: str, tab_separated: bool) -> list[str]:
    return line.split("\t") if tab_separated else line.split()


def read_conll(path: str, tag_column: int = -1) -> SentenceRecords:
    """Read a CoNLL column file. The first word line fixes the column count and the separator."""
    records = SentenceRecords(source=path, line_per_word=True)
    column_count = tab_separated = first_word_line = None
    words: list[str] = []
    tags: list[str] = []
    sentence_line = document = 0

    def close_sentence() -> None:
        nonlocal words, tags
        if words:
            records.add(words, tags, sentence_line, document)
        words, tags = [], []

    for number, raw_line in enumerate(read_text(path).split("\n"), start=1):
        line = raw_line.rstrip("\r")
        if not line.strip():
            close_sentence()
            continue
        if column_count is None:
            tab_separated = "\t" in line
        columns = _split_columns(line.strip() if not tab_separated else line, tab_separated)
        if columns[0] == DOCSTART:
            close_sentence()
            document += 1
            continue
        if column_count is None:
            column_count, first_word_line = len(columns), number
            if not -column_count <= tag_column < column_count or column_count < 2:
                raise DataError(
                    path,
                    number,
                    f"--tag_column {tag_column} does not exist in a line of {column_count} "
                    f"column(s) (a word and a tag are needed): {quote(line)}",
                )
        if len(columns) != column_count:
            raise DataError(
                path,
                number,
                f"expected {column_count} columns (as on line {first_word_line}), "
                f"found {len(columns)}: {quote(line)}",
            )
        if not words:
            sentence_line = number
        words.append(columns[0])
        tags.append(columns[tag_column])
    close_sentence()
    if not records:
        raise DataError(path, 1, "no sentences found (the file is empty or holds only -DOCSTART- lines)")
    return records
