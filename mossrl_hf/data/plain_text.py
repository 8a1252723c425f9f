"""Plain text for language modelling and prompts: one text a line (.txt, .txt.gz), or a column of a JSON
(Lines) or CSV/TSV file."""

import random

from ..errors import DataError
from .text_files import is_json_file, iter_json_records, iter_table_rows, read_text

_TABLE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")


def read_plain_texts(path: str, column: str = "text", what: str = "texts") -> list[str]:
    """The non-blank texts of `path`, in file order. Blank lines are skipped (paragraph breaks in running
    text); a file with no text at all is an error, as is a record without a text in `column`."""
    if is_json_file(path):
        texts = []
        for line, record in iter_json_records(path):
            value = record.get(column) if isinstance(record, dict) else None
            if not isinstance(value, str):
                raise DataError(path, line, f"expected an object with a text field {column!r}")
            texts.append(value)
    elif path.endswith(_TABLE_SUFFIXES):
        texts = []
        for line, row in iter_table_rows(path):
            if column not in row:
                raise DataError(path, line, f"no column {column!r} (columns: {', '.join(row)})")
            texts.append(row[column])
    else:
        texts = read_text(path).splitlines()
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        raise DataError(path, 1, f"no {what} found (the file is empty or blank)")
    return texts


def hold_out(texts: list[str], percentage: float, seed: int) -> tuple[list[str], list[str]]:
    """(kept, held out): `percentage` of the texts drawn with `seed`, at least one, never all."""
    count = min(max(1, round(len(texts) * percentage / 100)), len(texts) - 1)
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    held = set(order[:count])
    return [t for i, t in enumerate(texts) if i not in held], [t for i, t in enumerate(texts) if i in held]
