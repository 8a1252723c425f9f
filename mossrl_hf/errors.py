"""User-facing errors: printed as a single line, without a traceback, by the recipes."""

import logging
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)

USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """Something the user gave us is wrong; the message alone says what and where."""


class ConfigError(UserError):
    """A bad configuration file, flag or combination of flags."""


class DataError(UserError):
    """Bad input data, located as `PATH:LINE: message` (1-based physical line numbers)."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def quote(value: object, limit: int = 80) -> str:
    """Show an offending value in an error message, shortened so one line stays one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_main(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> None:
    """Run a recipe's `main` so that user errors end the process with one line and exit code 2."""
    try:
        main(argv)
    except UserError as error:
        print(str(error), file=sys.stderr)
        sys.exit(USER_ERROR_EXIT_CODE)
