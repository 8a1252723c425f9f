"""Command line parsing: recipe defaults < YAML config (`--config`) < command-line flags.

Unknown keys in a YAML file and unknown flags are errors, never ignored.
"""

import argparse
import dataclasses
import difflib
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser, TrainingArguments

from .config_values import check_value_types
from .configs import defaults_following_flags
from .errors import ConfigError
from .launching import check_deepspeed

# Keys whose relative values in a YAML file are paths from the repository root, so that a config works
# from wherever the recipe is launched.
_PATH_KEYS_SUFFIX = "_file"
_MAYBE_PATH_KEYS = ("dataset_name",)


@dataclass
class ParsedArgs:
    """The parsed dataclasses, in the order asked for, and which keys the user set (YAML or flag)."""

    values: tuple
    explicit: set[str]
    config_path: str | None


def repository_root(start: Path) -> Path | None:
    """The nearest ancestor of `start` holding a pyproject.toml (the repository a shipped config lives in)."""
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


class YamlConfig(dict):
    """A config file's options, with the line of each key (for errors that point at it)."""

    def __init__(self, values: dict[str, Any], path: str, lines: dict[str, int]):
        super().__init__(values)
        self.path, self.lines = path, lines

    def where(self, key: str) -> str:
        line = self.lines.get(str(key))
        return f"{self.path}:{line}" if line else self.path


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; YAML says keys are unique, and a config
    with `learning_rate` twice is a mistake whichever value was meant."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (first on line {seen[key]})", key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen[key] = line
        return super().construct_mapping(node, deep)


def _parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """The document and the line of each top-level key."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return document, lines


def load_yaml_config(path: str) -> YamlConfig:
    config_file = Path(path)
    if not config_file.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        loaded, lines = _parse_yaml(config_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    if loaded is None:
        return YamlConfig({}, path, {})
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of option names to values, found {type(loaded).__name__}"
        )
    root = repository_root(config_file.resolve().parent)
    return YamlConfig({key: _resolve_path(key, value, root) for key, value in loaded.items()}, path, lines)


def _resolve_path(key: str, value: Any, root: Path | None) -> Any:
    if root is None or not isinstance(value, str) or Path(value).is_absolute():
        return value
    candidate = root / value
    if key.endswith(_PATH_KEYS_SUFFIX) or (key in _MAYBE_PATH_KEYS and candidate.exists()):
        return str(candidate)
    return value


def _own_fields(dataclass_types: tuple[type, ...]) -> set[str]:
    """Options declared by this project: their annotated types are exact. TrainingArguments declares many
    options `str` that also take a dict or a list (`report_to`, `fsdp_config`, ...)."""
    inherited = {field.name for field in dataclasses.fields(TrainingArguments)}
    own = set()
    for kind in dataclass_types:
        names = {field.name for field in dataclasses.fields(kind) if field.init}
        own |= names - inherited if issubclass(kind, TrainingArguments) else names
    return own


def _known_destinations(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Map every option string (`--foo`, `--no_foo`) to its destination name."""
    return {option: action.dest for action in parser._actions for option in action.option_strings}


def _flags_given(argv: list[str], options: dict[str, str]) -> set[str]:
    given = set()
    for token in argv:
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            if name in options:
                given.add(options[name])
    return given


def _check_keys(config: dict[str, Any], known: set[str], source: str) -> None:
    for key in config:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            where = config.where(key) if isinstance(config, YamlConfig) else source
            raise ConfigError(f"{where}: unknown option {key!r}{hint}")


def parse_args(
    dataclass_types: tuple[type, ...],
    argv: list[str] | None = None,
    recipe_defaults: dict[str, Any] | None = None,
    description: str | None = None,
) -> ParsedArgs:
    """Parse `argv` into `dataclass_types`, with `--config FILE.yaml` supplying defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(dataclass_types, description=description)
    parser.add_argument("--config", default=None, help="YAML file of defaults; flags override its values.")
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    config_path = pre.parse_known_args(argv)[0].config

    options = _known_destinations(parser)
    known = set(options.values()) - {"help", "config"}
    defaults = dict(recipe_defaults or {})
    _check_keys(defaults, known, "recipe defaults")
    config = load_yaml_config(config_path) if config_path else {}
    _check_keys(config, known, config_path or "")
    check_value_types(config, parser, _own_fields(dataclass_types))
    parser.set_defaults(**{**defaults, **config})
    check_deepspeed(parser, argv)  # before TrainingArguments, which fails on it with a traceback
    explicit = set(config) | _flags_given(argv, options)
    parser.set_defaults(**defaults_following_flags(vars(parser.parse_known_args(argv)[0]), explicit))

    try:
        *values, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    except (ValueError, TypeError) as error:
        # Checks in the dataclasses' __post_init__ (ours and TrainingArguments') land here.
        raise ConfigError(f"invalid arguments: {' '.join(str(error).split())}") from None  # one line
    if remaining:
        parser.error(f"unrecognized arguments: {' '.join(remaining)}")
    values = values[: len(dataclass_types)]  # drop the namespace holding --config
    return ParsedArgs(values=tuple(values), explicit=explicit, config_path=config_path)


def to_plain_dict(values: tuple) -> dict[str, dict[str, Any]]:
    """The resolved configuration, one section per dataclass, JSON-serialisable."""
    sections = {}
    for value in values:
        if hasattr(value, "to_dict"):  # TrainingArguments: its own serialisation, which hides tokens
            sections[type(value).__name__] = value.to_dict()
        else:
            sections[type(value).__name__] = dataclasses.asdict(value)
    return sections
