"""Reading text files with errors that name the file and line: UTF-8 decoding, JSON and JSON Lines."""

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError, quote

JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def is_json_file(path: str) -> bool:
    return path.endswith(JSON_SUFFIXES)


def read_text(path: str) -> str:
    """The whole file as text (gzip'd when it ends in .gz); not UTF-8 is an error at its line. A leading
    byte-order mark is dropped: editors on Windows write one, and it would otherwise stick to the first word
    or column name."""
    _check_is_file(path)
    raw = Path(path).read_bytes()
    if path.endswith(".gz"):
        raw = _gunzip(path, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start : error.start + 4]
        raise DataError(path, line, f"not UTF-8 text (byte {bad[:1]!r} at offset {error.start})") from None
    return text.removeprefix("\ufeff")


def iter_lines(path: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) lazily, so memory does not grow with the file: gzip'd when the name ends
    in .gz, lines end at a newline only (a trailing carriage return is dropped), a leading byte-order mark is
    dropped, and a line that is not UTF-8 is an error at its line, as in `read_text`."""
    _check_is_file(path)
    opener = gzip.open if path.endswith(".gz") else open
    offset = 0
    try:
        with opener(path, "rb") as stream:
            for number, raw in enumerate(stream, start=1):
                yield number, _decode_line(path, number, raw, offset)
                offset += len(raw)
    except EOFError:
        raise DataError(path, None, "truncated gzip file (it ends before its compressed data does)") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(path, None, f"not a valid gzip file ({error})") from None


def _decode_line(path: str, number: int, raw: bytes, offset: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1]
        raise DataError(
            path, number, f"not UTF-8 text (byte {bad!r} at offset {offset + error.start})"
        ) from None
    if number == 1:
        text = text.removeprefix("\ufeff")
    return text.removesuffix("\n").removesuffix("\r")


def _check_is_file(path: str) -> None:
    file_path = Path(path)
    if file_path.is_dir():
        raise DataError(path, None, "is a directory, not a file")
    if not file_path.is_file():
        raise DataError(path, None, "file not found")


def _gunzip(path: str, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError:  # the end of the stream is missing: a copy or download cut short
        raise DataError(path, None, "truncated gzip file (it ends before its compressed data does)") from None
    except (OSError, zlib.error) as error:  # not gzip at all, or corrupt
        raise DataError(path, None, f"not a valid gzip file ({error})") from None


def iter_json_records(path: str) -> Iterator[tuple[int, Any]]:
    """Yield (line, record) from a JSON Lines file or a JSON file holding one array of records."""
    text = read_text(path)
    if text.lstrip().startswith("["):
        yield from _iter_json_array(path, text)
        return
    # Lines end at \n only: str.splitlines() would also cut at U+2028, U+0085 and others, which JSON allows
    # unescaped inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, number, f"malformed JSON: {error.msg} (column {error.colno})") from None
        except RecursionError:
            raise DataError(path, number, "malformed JSON: nested too deeply") from None


def iter_json_lines(path: str) -> Iterator[tuple[int, Any]]:
    """(line, record) from a JSON Lines file read lazily (memory does not grow with the file); a file that
    holds one JSON array is read whole by `iter_json_records`. Blank lines are skipped, as there."""
    first = True
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        if first and line.lstrip().startswith("["):
            yield from iter_json_records(path)
            return
        first = False
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, number, f"malformed JSON: {error.msg} (column {error.colno})") from None
        except RecursionError:
            raise DataError(path, number, "malformed JSON: nested too deeply") from None


def _iter_json_array(path: str, text: str) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]":
            _check_nothing_after(path, text, position + 1)
            return
        try:
            record, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise DataError(
                path, error.lineno, f"malformed JSON: {error.msg} (column {error.colno})"
            ) from None
        except RecursionError:
            raise DataError(
                path, text.count("\n", 0, position) + 1, "malformed JSON: nested too deeply"
            ) from None
        yield text.count("\n", 0, position) + 1, record
        position = _skip_space(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
        elif position >= len(text) or text[position] != "]":
            line = text.count("\n", 0, position) + 1
            raise DataError(path, line, "malformed JSON: expected ',' or ']' after a record")


def _check_nothing_after(path: str, text: str, position: int) -> None:
    """Text after the closing `]` (a second array, a stray record) would otherwise be skipped unseen."""
    position = _skip_space(text, position)
    if position < len(text):
        line = text.count("\n", 0, position) + 1
        raise DataError(path, line, "malformed JSON: text after the end of the array")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def iter_table_rows(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row) from a CSV or TSV file with a header row. TSV fields are taken literally (no
    quoting), as in GLUE's files; CSV follows the usual quoting rules, strictly: a stray character after a
    closing quote or a quote never closed is an error, not a silently changed field."""
    text = read_text(path)
    tab_separated = path.endswith((".tsv", ".tsv.gz"))
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tab_separated else {"strict": True}
    # newline="" as the csv module asks: rows end at \n, \r\n or \r only (str.splitlines() would also cut
    # inside a field at U+2028, \x1c and others).
    rows = _located_rows(path, csv.reader(io.StringIO(text, newline=""), **options))
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise DataError(path, 1, "empty file (a header row is needed)") from None
    if len(set(header)) != len(header):
        raise DataError(path, header_line, f"the header repeats a column name: {header}")
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(
                path,
                line,
                f"expected {len(header)} fields (as in the header), found {len(row)}: {quote(row)}",
            )
        yield line, dict(zip(header, row, strict=True))


def _located_rows(path: str, reader) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each row that is not blank; a csv error becomes a DataError at its row."""
    start = 1
    try:
        for row in reader:
            if row:
                yield start, row
            start = reader.line_num + 1
    except csv.Error as error:
        reason = str(error)
        if reason == "unexpected end of data":
            reason = "a quoted field opened on this line is never closed"
        raise DataError(path, start, f"malformed CSV: {reason}") from None


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
