"""A whole benchmark: run the chosen entries, then write results.json, results.md and results.png."""

import datetime
import logging
import time
from pathlib import Path
from typing import Any

from ..reporting import atomic_write_text, sha256_of, write_json
from . import report, seeds
from .machine import bench_environment, run_thread_counts
from .runner import Workspace, run_entries
from .suite import Entry, Suite

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"


def data_files(entries: list[Entry]) -> dict[str, str]:
    """Every `*_file` flag of the entries, keyed `entry:flag`, for the environment's sha256 list."""
    return {
        f"{entry.name}:{key}": str(value)
        for entry in entries
        for key, value in entry.args.items()
        if key.endswith("_file") and isinstance(value, str) and Path(value).is_file()
    }


def missing_files(entries: list[Entry]) -> list[str]:
    """`*_file` flags naming files that do not exist: better said before an hour of runs than after."""
    return [
        f"{entry.name}: --{key} {value}"
        for entry in entries
        for key, value in entry.args.items()
        if key.endswith("_file") and isinstance(value, str) and not Path(value).is_file()
    ]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run_suite(
    suite: Suite, entries: list[Entry], workspace: Workspace, command: str, data_dir: str
) -> dict[str, Any]:
    started_at, start = _now(), time.perf_counter()
    environment = bench_environment(data_files(entries), workspace.env)
    records = run_entries(entries, workspace)
    environment["run_torch_threads"] = run_thread_counts(records)
    ratios = report.add_ratios_and_targets(records)
    return {
        "schema_version": SCHEMA_VERSION,
        "suite": {
            "name": suite.name,
            "description": suite.description,
            "file": str(Path(suite.path).resolve()),
            "sha256": sha256_of(suite.path),
        },
        "command": command,
        "data_dir": data_dir,
        "output_dir": str(workspace.output),
        "started_at": started_at,
        "finished_at": _now(),
        "wall_seconds": time.perf_counter() - start,
        "environment": environment,
        "entries": records,
        "ratios": ratios,
        "over_seeds": {"arms": seeds.arm_summaries(records), "paired": seeds.paired_comparisons(records)},
        "summary": summary(records),
    }


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    targets = [result for record in records for result in record.get("target_results", [])]
    return {
        "entries": len(records),
        "ok": sum(record["status"] == "ok" for record in records),
        "not_ok": [record["name"] for record in records if record["status"] != "ok"],
        "targets": len(targets),
        "targets_met": sum(result["met"] is True for result in targets),
    }


def write_results(results: dict[str, Any], output: Path) -> str:
    """Write the three result files; returns the markdown (what the command prints)."""
    write_json(output / RESULTS_JSON, results)
    text = report.markdown(results)
    atomic_write_text(output / RESULTS_MD, text)
    try:
        report.plot(results, output / RESULTS_PNG)
    except Exception as error:  # a plot is not worth losing the figures over
        logger.warning("could not draw %s: %s", output / RESULTS_PNG, error)
    return text
