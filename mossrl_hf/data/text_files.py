"""Reading text files with errors that name the file and line: UTF-8 decoding, JSON and JSON Lines."""

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError

JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def is_json_file(path: str) -> bool:
    return path.endswith(JSON_SUFFIXES)


def read_text(path: str) -> str:
    """The whole file as text (gzip'd when it ends in .gz); not UTF-8 is an error at its line."""
    file_path = Path(path)
    if not file_path.is_file():
        raise DataError(path, None, "file not found")
    raw = file_path.read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start : error.start + 4]
        raise DataError(path, line, f"not UTF-8 text (byte {bad[:1]!r} at offset {error.start})") from None


def iter_json_records(path: str) -> Iterator[tuple[int, Any]]:
    """Yield (line, record) from a JSON Lines file or a JSON file holding one array of records."""
    text = read_text(path)
    if text.lstrip().startswith("["):
        yield from _iter_json_array(path, text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, number, f"malformed JSON: {error.msg} (column {error.colno})") from None


def _iter_json_array(path: str, text: str) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]":
            return
        try:
            record, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise DataError(
                path, error.lineno, f"malformed JSON: {error.msg} (column {error.colno})"
            ) from None
        yield text.count("\n", 0, position) + 1, record
        position = _skip_space(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
        elif position >= len(text) or text[position] != "]":
            line = text.count("\n", 0, position) + 1
            raise DataError(path, line, "malformed JSON: expected ',' or ']' after a record")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def iter_table_rows(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row) from a CSV or TSV file with a header row. TSV fields are taken literally (no
    quoting), as in GLUE's files; CSV follows the usual quoting rules."""
    import csv

    text = read_text(path)
    tab_separated = path.endswith((".tsv", ".tsv.gz"))
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tab_separated else {}
    reader = csv.reader(text.splitlines(keepends=True), **options)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(path, 1, "empty file (a header row is needed)") from None
    if len(set(header)) != len(header):
        raise DataError(path, 1, f"the header repeats a column name: {header}")
    start = reader.line_num + 1
    try:
        for row in reader:
            if row:
                if len(row) != len(header):
                    raise DataError(
                        path,
                        start,
                        f"expected {len(header)} fields (as in the header), found {len(row)}: {row!r}",
                    )
                yield start, dict(zip(header, row, strict=True))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(path, start, f"malformed CSV: {error}") from None


def load_dataset_splits(name: str, config_name: str | None = None) -> dict[str, tuple[str, object]]:
    """Train/validation/test of a dataset saved with `save_to_disk` (a directory) or on the Hub, as
    {split: (source name for messages, datasets.Dataset)}; `valid` and `dev` count as validation."""
    import datasets

    loaded = (
        datasets.load_from_disk(name) if Path(name).is_dir() else datasets.load_dataset(name, config_name)
    )
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    renamed = {"valid": "validation", "dev": "validation"}
    splits = {}
    for split_name, dataset in loaded.items():
        split = renamed.get(split_name, split_name)
        if split in ("train", "validation", "test"):
            splits[split] = (f"{name}[{split_name}]", dataset)
    return splits
