"""Prediction over inputs of any size: read and written in chunks, in input order, resumable, in parallel.

The prediction commands (`python -m mossrl_hf.predict`, `python -m mossrl_hf.reward`) hand this module an
iterator over their input and a way to build the predictor. Memory holds one chunk per process at a time, so
it does not grow with the input. Records go to `OUTPUT.partial`, flushed after every chunk, and the file is
renamed to OUTPUT only once the last record is written: an OUTPUT file is always complete. An interrupted
run (Ctrl-C, a kill, a bad line further down the input) leaves `OUTPUT.partial`; `--resume` checks that each
of its complete records belongs to the same line of the input, drops a last record cut short, and continues
after it, so no line is written twice or lost.

`--num_workers N` starts N processes that each load the predictor once (`spawn`, so no thread pool is
copied mid-flight) and share the CPU threads between them; chunks go out in input order, at most two per
worker in flight, and their records are written back in input order.

Once loaded, the model and its libraries are set aside from Python's garbage collector for the run
(`mossrl_hf.batching.loaded_objects_set_aside`): each of its full collections walked all of them (0.3 s)
and freed none.
"""

import contextlib
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from .batching import loaded_objects_set_aside, set_aside_objects_alive_now
from .errors import ConfigError, DataError

logger = logging.getLogger(__name__)

# (where the item came from: "PATH:LINE", the item) pairs, as the commands read them.
LocatedItems = Iterator[tuple[str, Any]]


@dataclass
class StreamOptions:
    chunk_size: int = 1000
    resume: bool = False
    num_workers: int = 1
    progress: bool = True

    def __post_init__(self):
        if self.chunk_size < 1:
            raise ConfigError(f"--chunk_size must be at least 1, not {self.chunk_size}")
        if self.num_workers < 1:
            raise ConfigError(f"--num_workers must be at least 1, not {self.num_workers}")


def add_stream_arguments(parser) -> None:
    """The streaming flags of the prediction commands (argparse)."""
    parser.add_argument(
        "--chunk_size", type=int, default=1000, help="Inputs read, predicted and written at a time (1000)."
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Continue an interrupted run from OUTPUT.partial, after its last complete record.",
    )
    parser.add_argument(
        "--num_workers", type=int, default=1, help="Processes that predict in parallel (default 1)."
    )
    parser.add_argument("--no_progress", action="store_true", help="No progress bar.")


def stream_options(args) -> StreamOptions:
    return StreamOptions(args.chunk_size, args.resume, args.num_workers, not args.no_progress)


def partial_path(output: str | Path) -> Path:
    return Path(f"{output}.partial")


def stream_predictions(
    items: LocatedItems,
    load_predictor: Callable[..., Callable[[list], list[dict]]],
    loader_kwargs: dict[str, Any],
    output: str,
    same_input: Callable[[dict, Any], bool],
    options: StreamOptions,
) -> tuple[int, int]:
    """Predict every item into `output` (JSON Lines, one record per item, in order). `load_predictor(
    **loader_kwargs)` builds the predictor (once per worker); `same_input(record, item)` tells whether a
    record written earlier belongs to that item (for --resume). Returns (records written now, resumed)."""
    # The predictor is built here first even for workers: a bad model or flag fails in one line before any
    # output is touched (a worker whose start-up fails would only be restarted by the pool).
    with _loading_bars(options.progress):
        predictor = load_predictor(**loader_kwargs)
    items = iter(items)
    resumed = resume_point(output, items, same_input) if options.resume else _fresh_start(output)
    if resumed is None:  # the output is already complete
        return 0, _count_lines(output)
    if options.num_workers > 1:
        predictor = None  # each worker loads its own
    written = 0
    with (
        open(partial_path(output), "ab") as stream,
        _progress(options.progress, resumed) as bar,
        loaded_objects_set_aside(),  # the model and libraries stay to the end of the run
    ):
        for records in _predict_chunks(items, predictor, load_predictor, loader_kwargs, options):
            stream.write(b"".join(_json_line(record) for record in records))
            stream.flush()
            written += len(records)
            bar.update(len(records))
    if written + resumed == 0:
        raise DataError(output, None, "the input holds nothing to predict")
    os.replace(partial_path(output), output)
    return written, resumed


def _json_line(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def _fresh_start(output: str) -> int:
    partial = partial_path(output)
    if partial.exists():
        logger.warning(
            "%s (an interrupted run's records) is replaced; --resume continues it instead", partial
        )
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"")
    return 0


def resume_point(output: str, items: Iterator[tuple[str, Any]], same_input) -> int | None:
    """Records already in OUTPUT.partial that match the input's first items (consumed from `items`), with a
    last record cut short dropped; None when OUTPUT itself is complete and matches the whole input."""
    partial = partial_path(output)
    if not partial.exists():
        if Path(output).exists():
            _check_matches(Path(output), items, same_input)
            if next(items, None) is not None:
                raise DataError(output, None, "holds fewer records than the input has lines: not its output")
            logger.info("%s is complete: nothing to resume", output)
            return None
        logger.info("no %s to resume from: starting at the first input", partial)
        return _fresh_start(output)
    done, complete_bytes = _check_matches(partial, items, same_input)
    with open(partial, "r+b") as stream:
        stream.truncate(complete_bytes)  # a record cut short by the interruption is written again
    logger.info("resuming after %d records in %s", done, partial)
    return done


def _check_matches(path: Path, items: Iterator[tuple[str, Any]], same_input) -> tuple[int, int]:
    done = complete_bytes = 0
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise DataError(path, number, "not a JSON record: cannot resume from this file") from None
            location, item = next(items, (None, None))
            if location is None:
                raise DataError(path, number, "more records than the input has: not its output")
            if not same_input(record, item):
                raise DataError(path, number, f"does not match the input at {location}: not its output")
            done, complete_bytes = done + 1, complete_bytes + len(raw)
    return done, complete_bytes


def _count_lines(path: str) -> int:
    with open(path, "rb") as stream:
        return sum(1 for _ in stream)


def _chunks(items: Iterator[tuple[str, Any]], size: int) -> Iterator[list]:
    while chunk := [item for _, item in islice(items, size)]:
        yield chunk


def _predict_chunks(
    items, predictor, load_predictor, loader_kwargs, options: StreamOptions
) -> Iterable[list[dict]]:
    chunks = _chunks(items, options.chunk_size)
    if predictor is not None:
        yield from (predictor(chunk) for chunk in chunks)
        return
    yield from _predict_in_workers(chunks, load_predictor, loader_kwargs, options)


def _predict_in_workers(chunks, load_predictor, loader_kwargs, options: StreamOptions) -> Iterator[list]:
    import torch

    workers = options.num_workers
    threads = max(1, torch.get_num_threads() // workers)
    context = multiprocessing.get_context("spawn")
    start = (load_predictor, loader_kwargs, threads, options.progress)
    with context.Pool(workers, _start_worker, start) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_predict_in_worker, (chunk,)))
            if len(pending) >= 2 * workers:  # bounded look-ahead: memory stays flat
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        # Let the workers finish and exit (leaving the block would terminate them: one still starting up
        # then leaks the semaphores its libraries made, and Python warns about them at shutdown).
        pool.close()
        pool.join()


_WORKER_PREDICTOR = None


def _start_worker(load_predictor, loader_kwargs, threads: int, progress: bool) -> None:
    import torch

    global _WORKER_PREDICTOR
    torch.set_num_threads(threads)
    try:
        with _loading_bars(progress):
            _WORKER_PREDICTOR = load_predictor(**loader_kwargs)
        set_aside_objects_alive_now()  # a worker keeps its predictor until the pool ends
    except Exception as error:  # raised again with the first chunk, not a pool restarting workers forever
        _WORKER_PREDICTOR = error


def _predict_in_worker(chunk: list) -> list[dict]:
    if isinstance(_WORKER_PREDICTOR, Exception):
        raise _WORKER_PREDICTOR
    return _WORKER_PREDICTOR(chunk)


@contextlib.contextmanager
def _loading_bars(shown: bool) -> Iterator[None]:
    """transformers' own progress bars (loading a model's weights) follow --no_progress too."""
    from transformers.utils import logging as transformers_logging

    hide = shown is False and transformers_logging.is_progress_bar_enabled()
    if hide:
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if hide:
            transformers_logging.enable_progress_bar()


class _progress:
    """A tqdm bar counting records (resumed ones included), or nothing."""

    def __init__(self, enabled: bool, initial: int):
        self.enabled, self.initial = enabled, initial

    def __enter__(self):
        if not self.enabled:
            return self
        from tqdm.auto import tqdm

        self.bar = tqdm(initial=self.initial, unit=" records", dynamic_ncols=True)
        return self.bar

    def update(self, count: int) -> None:
        pass

    def __exit__(self, *exc_info) -> None:
        if self.enabled:
            self.bar.close()
