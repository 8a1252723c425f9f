"""Run a suite's entries one after another, each in its own process, and record what each one cost.

Each entry is a fresh Python process (through `mossrl_hf.bench.child`), so its peak memory is its own:
the harness waits for it with `os.wait4`, which returns that process's resource usage, `ru_maxrss`
included. Its wall time covers the whole command, start-up and imports included. Output goes to a log
file per entry; an entry that fails is recorded with the end of its log and the suite goes on.
"""

import logging
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import collect
from .child import GPU_MEMORY_FILE_ENV
from .suite import PREDICT_SPEED_KIND, Entry

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
PREDICT_SPEED_FILE = "predict_speed.json"
_GPU_FILE = ".bench_gpu_memory.json"


@dataclass
class ProcessResult:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    timed_out: bool


@dataclass
class Workspace:
    """Where things are: the checkout (for recipes/), the bench output folder, the child environment."""

    repo_root: Path
    output: Path
    env: dict[str, str]

    def entry_dir(self, name: str) -> Path:
        return self.output / "entries" / name

    def log_file(self, name: str) -> Path:
        return self.output / "logs" / f"{name}.log"


def child_environment(repo_root: Path) -> dict[str, str]:
    """The harness's environment, with this checkout first on the import path (the runs use the code
    being measured, not another installed copy) and a fixed hash seed (set iteration order then repeats
    from run to run). A hash seed already set is kept."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_process(
    command: list[str], log_path: Path, env: dict[str, str], timeout: float | None
) -> ProcessResult:
    """Run `command` with its output in `log_path`; its wall time and peak RSS (bytes)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    timed_out = threading.Event()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(command)}\n\n")
        log.flush()
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )

        def stop() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, stop) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: take the child down with us
            process.kill()
            process.wait()
            raise
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return ProcessResult(process.returncode, wall, usage.ru_maxrss * scale, timed_out.is_set())


def render_flags(args: dict[str, Any]) -> list[str]:
    """`{key: value}` as command-line flags; lists give several values, None leaves the flag out."""
    flags = []
    for key, value in args.items():
        if value is None:
            continue
        flags.append(f"--{key}")
        if isinstance(value, bool):
            flags.append("true" if value else "false")
        elif isinstance(value, list):
            flags += [str(item) for item in value]
        else:
            flags.append(str(value))
    return flags


def entry_command(entry: Entry, workspace: Workspace) -> list[str]:
    prefix = [sys.executable, "-m", "mossrl_hf.bench.child"]
    output = workspace.entry_dir(entry.name)
    if entry.kind == PREDICT_SPEED_KIND:
        model = workspace.entry_dir(entry.model_from)
        target = [
            "mossrl_hf.bench.predict_speed",
            "--model",
            str(model),
            "--output",
            str(output / PREDICT_SPEED_FILE),
        ]
        return prefix + target + render_flags(entry.args)
    script = workspace.repo_root / "recipes" / f"{entry.recipe}.py"
    teacher = entry.teacher_from and [
        "--teacher_model_name_or_path",
        str(workspace.entry_dir(entry.teacher_from)),
    ]
    args = dict(entry.args)
    if entry.model_from:  # the entry's own design wins over `--model`
        args["model_name_or_path"] = str(workspace.entry_dir(entry.model_from))
    return prefix + [
        str(script),
        *render_flags(args),
        *(teacher or []),
        "--output_dir",
        str(output),
    ]


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _description(entry: Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "recipe": entry.recipe,
        "method": entry.method,
        "reference": entry.reference,
        "seed": entry.seed,
        "base_name": entry.base_name or entry.name,
        "compare_to": entry.compare_to,
        "model_from": entry.model_from,
        "teacher_from": entry.teacher_from,
        "metric": entry.metric,
        "targets": entry.targets,
        "description": entry.description,
        "args": entry.args,
    }


def _failed(record: dict[str, Any], error: str, log_path: Path) -> dict[str, Any]:
    record.update(status="failed", error=error, log_tail=log_tail(log_path))
    logger.warning("%s failed: %s (log: %s)", record["name"], error, log_path)
    return record


def run_entry(entry: Entry, workspace: Workspace, failed: set[str]) -> dict[str, Any]:
    """Run one entry and collect its figures; any failure is recorded, never raised."""
    output, log_path = workspace.entry_dir(entry.name), workspace.log_file(entry.name)
    record = {**_description(entry), "output_dir": str(output), "log_file": str(log_path), "error": None}
    for key in ("model_from", "teacher_from"):
        if getattr(entry, key) in failed:
            record.update(status="skipped", error=f"{key} entry {getattr(entry, key)} failed", log_tail=None)
            return record
    # The folder belongs to this entry: a previous run's files must not pass for this run's.
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    command = entry_command(entry, workspace)
    env = {**workspace.env, GPU_MEMORY_FILE_ENV: str(output / _GPU_FILE)}
    logger.info("running %s (log: %s)", entry.name, log_path)
    result = run_process(command, log_path, env, entry.timeout)
    record.update(
        command=command,
        returncode=result.returncode,
        wall_seconds=result.wall_seconds,
        peak_rss_bytes=result.peak_rss_bytes,
        peak_gpu_memory_bytes=collect.gpu_peak(output / _GPU_FILE),
        log_tail=None,
    )
    if result.timed_out:
        return _failed(record, f"stopped after the {entry.timeout} s timeout", log_path)
    if result.returncode != 0:
        return _failed(record, f"exit code {result.returncode}", log_path)
    try:
        if entry.kind == PREDICT_SPEED_KIND:
            record.update(collect.predict_speed_figures(output / PREDICT_SPEED_FILE))
        else:
            record.update(collect.recipe_figures(output, entry.metric))
    except FileNotFoundError as error:
        return _failed(record, str(error), log_path)
    record["status"] = "ok"
    logger.info("%s done in %.1f s", entry.name, result.wall_seconds)
    return record


def run_entries(entries: list[Entry], workspace: Workspace) -> list[dict[str, Any]]:
    records, failed = [], set()
    for entry in entries:
        record = run_entry(entry, workspace, failed)
        if record["status"] != "ok":
            failed.add(entry.name)
        records.append(record)
    return records
