"""Checking the values of a YAML config file against the options they set.

Values from a config file become argparse defaults, and argparse checks defaults hardly at all: a string is
converted with the option's type (so `num_train_epochs: three` fails with a usage message that names no
file), anything else is passed on as it is (`max_seq_length: 1.5`, `label_names: O`, which later reads as
the letter list ['O']). Each value is checked here instead, and a misfit is one line naming the file, the
line, the option and what it takes.
"""

from typing import Any

from transformers.hf_argparser import string_to_bool

from .errors import ConfigError

_BOOLEAN_WORDS = {"yes", "no", "true", "false", "t", "f", "y", "n", "1", "0"}


def check_value_types(config: dict[str, Any], parser, own_fields: set[str]) -> None:
    """Refuse a value of `config` (a cli.YamlConfig) that its option cannot take. `own_fields` are the
    options whose declared type is exact; of the others (TrainingArguments'), only booleans, numbers and
    choices are checked."""
    if not hasattr(config, "where"):
        return
    actions = {action.dest: action for action in parser._actions}
    for key, value in config.items():
        action = actions.get(key)
        if action is None:
            continue
        problem = _misfit(value, action, key in own_fields)
        if problem:
            shown = "null" if value is None else _shown(value)
            raise ConfigError(f"{config.where(key)}: {key!r} {problem}, not {shown}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _misfit(value: Any, action, exact: bool) -> str | None:
    """What `value` should have been for `action`, or None when it fits."""
    if value is None:
        return None if action.default is None else "needs a value"
    if action.nargs in ("+", "*"):
        return _list_misfit(value, action) if exact else None
    if action.choices:
        return _choice_misfit(value, action.choices)
    if action.type is string_to_bool:
        fits = isinstance(value, bool) or (isinstance(value, str) and value.lower() in _BOOLEAN_WORDS)
        return None if fits else "must be true or false"
    if action.type in (int, float):
        return _number_misfit(value, action.type)
    if action.type is str and exact and not isinstance(value, str):
        return "must be a string (quote it)" if isinstance(value, (int, float)) else "must be a string"
    return None


def _list_misfit(value: Any, action) -> str | None:
    if not isinstance(value, list):
        return "must be a list, as in [a, b]"
    if action.type is str and not all(isinstance(item, str) for item in value):
        return "must be a list of strings (quote numbers)"
    return None


def _choice_misfit(value: Any, choices) -> str | None:
    names = [str(choice) for choice in choices]
    if isinstance(value, bool):
        # YAML 1.1 reads an unquoted no/yes/off/on as a boolean: `save_strategy: no` is False.
        return f"must be one of {', '.join(names)} (quote it: YAML reads unquoted no/yes/off/on as booleans)"
    if str(value) not in names:
        return f"must be one of {', '.join(names)}"
    return None


def _number_misfit(value: Any, kind: type) -> str | None:
    wanted = "must be an integer" if kind is int else "must be a number"
    if isinstance(value, bool):
        return wanted
    if isinstance(value, str):
        # PyYAML reads 5e-5 (no dot) as a string; argparse converts it, so it stays valid.
        try:
            kind(value)
        except ValueError:
            return wanted
        return None
    allowed = (int,) if kind is int else (int, float)
    return None if isinstance(value, allowed) else wanted
