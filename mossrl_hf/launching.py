"""Checks on how a recipe was launched.

TrainingArguments sets up DeepSpeed inside its own `__post_init__`; when the optional `deepspeed` package is
missing, transformers 5.x raises `importlib.metadata.PackageNotFoundError` there, with a traceback and a
garbled message. Asking first turns that into one line that says what to install.

`accelerate launch` without a CPU config (`use_cpu`, or `--cpu`) gives the process it starts
`OMP_NUM_THREADS=1` unless that is already set (accelerate 1.16, `prepare_simple_launcher_cmd_env`): on a
machine without a GPU the recipe then trains on one core and nothing says so. `thread_shortfall` is the one
line that does.
"""

import argparse
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from transformers.integrations import is_deepspeed_available
from transformers.utils import strtobool

from .errors import ConfigError
from .reporting import usable_cores

logger = logging.getLogger("mossrl_hf")

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


def _is_true(value: str | None) -> bool:
    try:
        return bool(strtobool(value or "false"))
    except ValueError:
        return False


def launcher_environment(parent: int | None = None) -> Mapping[str, str] | None:
    """The environment the parent process (the `accelerate launch` command) started with, or None where it
    cannot be read (not Linux, another user). accelerate hands its child a copy with `OMP_NUM_THREADS`
    filled in, so only the parent's own environment tells whether the user set it."""
    try:
        raw = Path(f"/proc/{parent or os.getppid()}/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def thread_shortfall(
    environ: Mapping[str, str],
    device_type: str,
    world_size: int,
    threads: int,
    cores: int | None,
    launcher: Mapping[str, str] | None = None,
) -> str | None:
    """The warning for a single process that `accelerate launch` left on fewer torch threads than the
    `cores` it may use on the CPU, or None. `launcher`: the launch command's own environment, if known."""
    if device_type != "cpu" or world_size > 1 or not cores or threads >= cores:
        return None  # on a GPU, or one thread per process on purpose (DDP), or every core in use
    # accelerate marks every process it starts with ACCELERATE_MIXED_PRECISION; `python recipes/x.py`
    # keeps torch's own default.
    if "ACCELERATE_MIXED_PRECISION" not in environ:
        return None
    # A CPU config (cpu.yaml) makes accelerate choose the count itself (a thread per physical core).
    if _is_true(environ.get("ACCELERATE_USE_CPU")):
        return None
    # Any other value, or a 1 the launch command already had, is the user's own choice.
    if environ.get("OMP_NUM_THREADS") != "1" or "OMP_NUM_THREADS" in (launcher or {}):
        return None
    return (
        f"this run uses {threads} torch thread(s) of the {cores} cores it may use, because "
        "`accelerate launch` without a CPU config sets OMP_NUM_THREADS=1: launch with "
        f"--config_file accelerate_configs/cpu.yaml, or set OMP_NUM_THREADS={cores} before the command"
    )


def warn_if_few_threads(device_type: str, world_size: int) -> None:
    """Log `thread_shortfall`'s warning, if any, for this process."""
    import torch

    message = thread_shortfall(
        os.environ, device_type, world_size, torch.get_num_threads(), usable_cores(), launcher_environment()
    )
    if message:
        logger.warning(message)
