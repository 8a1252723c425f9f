"""Sentences of words and tags as read from one source, remembering where each came from."""

from dataclasses import dataclass, field

from ..errors import DataError


def record_error(source: str, line: int | None, index: int, message: str) -> DataError:
    """`PATH:LINE: message` for records read from files; `NAME: example N: message` for datasets."""
    if line is None:
        return DataError(source, None, f"example {index}: {message}")
    return DataError(source, line, message)


@dataclass
class SentenceRecords:
    """Word and tag lists of one split, with their locations so that errors can point at them.

    `lines` holds, per sentence, the line of its first word (CoNLL, `line_per_word`), the line of its record
    (JSON), or nothing (a saved or Hub dataset, where errors name the example number instead).
    """

    source: str
    line_per_word: bool = False
    words: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)

    def add(self, words: list[str], tags: list[str], line: int | None, document: int = 0) -> None:
        self.words.append(words)
        self.tags.append(tags)
        self.lines.append(line)
        self.documents.append(document)

    def __len__(self) -> int:
        return len(self.words)

    def error(self, index: int, message: str, word_index: int | None = None) -> DataError:
        line = self.lines[index]
        if line is not None and self.line_per_word and word_index is not None:
            line += word_index
        return record_error(self.source, line, index, message)

    def head(self, count: int | None) -> "SentenceRecords":
        """The first `count` sentences (all when `count` is None)."""
        if count is None or count >= len(self):
            return self
        return SentenceRecords(
            self.source,
            self.line_per_word,
            self.words[:count],
            self.tags[:count],
            self.lines[:count],
            self.documents[:count],
        )
