"""Pairwise preference data: prompt, chosen and rejected texts per line of JSON Lines (gzip'd or not).

Without a prompt key the prompt is what the two texts share: their common prefix, cut back to the start of
the last assistant turn (`\\n\\nAssistant:`, as in Anthropic's HH data) or to a word boundary.
"""

import logging
import math
import random
from dataclasses import dataclass, field

from ..configs import PreferenceDataArguments
from ..errors import ConfigError, DataError, quote
from .sentences import record_error
from .text_files import iter_json_records

logger = logging.getLogger(__name__)

ASSISTANT_TURN = "\n\nAssistant:"


@dataclass
class PreferencePairs:
    source: str
    prompts: list[str] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)  # responses, without the prompt
    rejected: list[str] = field(default_factory=list)
    margins: list[float] | None = None
    lines: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.chosen)

    def error(self, index: int, message: str) -> DataError:
        return record_error(self.source, self.lines[index], index, message)

    def select(self, rows: list[int] | range) -> "PreferencePairs":
        margins = [self.margins[i] for i in rows] if self.margins is not None else None
        return PreferencePairs(
            self.source,
            [self.prompts[i] for i in rows],
            [self.chosen[i] for i in rows],
            [self.rejected[i] for i in rows],
            margins,
            [self.lines[i] for i in rows],
        )


def split_shared_prompt(chosen: str, rejected: str) -> tuple[str, str, str]:
    """(prompt, chosen response, rejected response) from two full texts that share their beginning."""
    shared = 0
    for a, b in zip(chosen, rejected, strict=False):
        if a != b:
            break
        shared += 1
    prefix = chosen[:shared]
    turn = prefix.rfind(ASSISTANT_TURN)
    if turn >= 0:
        cut = turn + len(ASSISTANT_TURN)
    else:
        spaces = [prefix.rfind(c) for c in " \n\t"]
        cut = max(spaces) + 1 if max(spaces) >= 0 else 0
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _text(record: dict, key: str, path: str, line: int) -> str:
    if key not in record:
        raise DataError(path, line, f"missing key {key!r} (keys: {', '.join(map(str, record))})")
    value = record[key]
    if not isinstance(value, str) or not value.strip():
        raise DataError(path, line, f"empty or non-text {key!r}: {quote(value)}")
    return value


def read_pairs(path: str, args: PreferenceDataArguments) -> PreferencePairs:
    pairs = PreferencePairs(source=path, margins=[] if args.margin_column else None)
    for line, record in iter_json_records(path):
        if not isinstance(record, dict):
            raise DataError(path, line, f"expected a JSON object, found {quote(record)}")
        chosen = _text(record, args.chosen_column, path, line)
        rejected = _text(record, args.rejected_column, path, line)
        if chosen == rejected:
            raise DataError(path, line, f"chosen and rejected are the same text: {quote(chosen)}")
        if args.prompt_column in record:
            prompt = _text(record, args.prompt_column, path, line)
        else:
            prompt, chosen, rejected = split_shared_prompt(chosen, rejected)
        if args.margin_column:
            margin = record.get(args.margin_column)
            # JSON readers accept NaN and Infinity; either would make the loss NaN.
            if not isinstance(margin, (int, float)) or isinstance(margin, bool) or not math.isfinite(margin):
                raise DataError(
                    path, line, f"{args.margin_column!r} must be a finite number, found {quote(margin)}"
                )
            pairs.margins.append(float(margin))
        pairs.prompts.append(prompt)
        pairs.chosen.append(chosen)
        pairs.rejected.append(rejected)
        pairs.lines.append(line)
    if not pairs:
        raise DataError(path, 1, "no pairs found (the file is empty)")
    return pairs


def hold_out(pairs: PreferencePairs, percentage: int, seed: int) -> tuple[PreferencePairs, PreferencePairs]:
    """(kept, held out): a seeded draw of `percentage`% of the pairs, both kept in file order."""
    count = max(1, round(len(pairs) * percentage / 100))
    held = set(random.Random(seed).sample(range(len(pairs)), count))
    kept = [i for i in range(len(pairs)) if i not in held]
    if not kept:
        raise ConfigError(f"--validation_split_percentage {percentage} leaves no training pair")
    return pairs.select(kept), pairs.select(sorted(held))


def load_preference_data(args: PreferenceDataArguments) -> tuple[dict[str, PreferencePairs], dict | None]:
    """Every split, and (when a split was held out of the training file) a record of which lines."""
    splits = {split: read_pairs(path, args) for split, path in args.data_files.items()}
    if not splits:
        raise ConfigError("no data: give --train_file (and --validation_file/--test_file)")
    held_out_record = None
    if args.validation_split_percentage and "train" in splits and "validation" not in splits:
        splits["train"], held = hold_out(splits["train"], args.validation_split_percentage, args.split_seed)
        splits["validation"] = held
        if "test" not in splits:
            splits["test"] = held
        held_out_record = {
            "source": held.source,
            "percentage": args.validation_split_percentage,
            "seed": args.split_seed,
            "held_out_lines": held.lines,
            "used_as": ["validation"] + (["test"] if splits["test"] is held else []),
        }
    limits = args.sample_limits
    splits = {s: p.select(range(min(len(p), limits[s]))) if limits[s] else p for s, p in splits.items()}
    for split, pairs in splits.items():
        logger.info("%s: %d pairs from %s", split, len(pairs), pairs.source)
    return splits, held_out_record
