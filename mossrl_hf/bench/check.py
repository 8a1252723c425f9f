"""Reproducibility check: run one entry twice with the same seed and compare everything but the clock.

Every figure in `all_results.json` that is not a time or a rate must be identical (not close: equal), and
so must the prediction files the two runs wrote (compared by sha256).
"""

import dataclasses
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..reporting import sha256_of
from . import collect
from .runner import Workspace, run_entry
from .suite import RECIPE_KIND, Entry


def differences(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """Keys whose values differ (or exist in one run only), timing figures left out."""
    a, b = collect.deterministic_figures(first), collect.deterministic_figures(second)
    return [
        {"key": key, "first": a.get(key), "second": b.get(key)}
        for key in sorted(set(a) | set(b))
        if key not in a or key not in b or a[key] != b[key]
    ]


def prediction_hashes(output_dir: Path) -> dict[str, str]:
    return {
        name: sha256_of(output_dir / name)
        for name in collect.PREDICTION_FILES
        if (output_dir / name).is_file()
    }


def check_entry(entry: Entry, workspace: Workspace) -> dict[str, Any]:
    """Run `entry` twice (as `<name>-check1`, `<name>-check2`) and compare the two runs."""
    if entry.kind != RECIPE_KIND:
        raise ConfigError(f"--check {entry.name}: only recipe entries can be checked (this is {entry.kind})")
    runs = [
        run_entry(dataclasses.replace(entry, name=f"{entry.name}-check{attempt}"), workspace, set())
        for attempt in (1, 2)
    ]
    summary = {
        "entry": entry.name,
        "seed": entry.seed,
        "runs": [
            {
                key: run.get(key)
                for key in ("name", "status", "error", "output_dir", "log_file", "wall_seconds")
            }
            for run in runs
        ],
    }
    if any(run["status"] != "ok" for run in runs):
        return {**summary, "identical": False, "differences": [], "error": "a run failed; see its log"}
    found = differences(runs[0]["metrics"], runs[1]["metrics"])
    hashes = [prediction_hashes(Path(run["output_dir"])) for run in runs]
    for name in sorted(set(hashes[0]) | set(hashes[1])):
        if hashes[0].get(name) != hashes[1].get(name):
            found.append({"key": name, "first": hashes[0].get(name), "second": hashes[1].get(name)})
    return {
        **summary,
        "identical": not found,
        "compared_figures": len(collect.deterministic_figures(runs[0]["metrics"])),
        "compared_files": sorted(hashes[0]),
        "differences": found,
        "error": None,
    }


def check_text(result: dict[str, Any]) -> str:
    if result["error"]:
        return f"check {result['entry']}: {result['error']}"
    if result["identical"]:
        files = ", ".join(result["compared_files"]) or "no prediction file"
        return (
            f"check {result['entry']} (seed {result['seed']}): identical: "
            f"{result['compared_figures']} figures and {files} are the same in both runs"
        )
    lines = [f"check {result['entry']} (seed {result['seed']}): {len(result['differences'])} difference(s)"]
    lines += [f"  {item['key']}: {item['first']!r} != {item['second']!r}" for item in result["differences"]]
    return "\n".join(lines)
