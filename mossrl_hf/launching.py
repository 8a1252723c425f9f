"""Checks on how a recipe was launched, made before TrainingArguments is built.

TrainingArguments sets up DeepSpeed inside its own `__post_init__`; when the optional `deepspeed` package is
missing, transformers 5.x raises `importlib.metadata.PackageNotFoundError` there, with a traceback and a
garbled message. Asking first turns that into one line that says what to install.
"""

import argparse
import os

from transformers.integrations import is_deepspeed_available
from transformers.utils import strtobool

from .errors import ConfigError

INSTALL_DEEPSPEED = 'pip install deepspeed (or pip install -e ".[deepspeed]")'


def deepspeed_requested(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """Where DeepSpeed was asked for, in words, or None. `parser` already holds the YAML values as defaults,
    so a `deepspeed:` key in a `--config` file counts as well as the flag."""
    known = parser.parse_known_args(argv)[0]
    if getattr(known, "deepspeed", None):
        return "--deepspeed"
    # Set by `accelerate launch` with a DeepSpeed config; TrainingArguments then builds a DeepSpeed plugin.
    try:
        from_environment = strtobool(os.environ.get("ACCELERATE_USE_DEEPSPEED", "false"))
    except ValueError:
        from_environment = False
    return "ACCELERATE_USE_DEEPSPEED=true" if from_environment else None


def check_deepspeed(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Fail with one line, before any work, if DeepSpeed is asked for and the package is not installed."""
    source = deepspeed_requested(parser, argv)
    # transformers' own test (the package and its metadata), so this agrees with the code that would fail.
    if source and not is_deepspeed_available():
        raise ConfigError(
            f"{source} needs the deepspeed package, which is not installed: {INSTALL_DEEPSPEED}"
        )
