"""Two results.json files side by side: each figure of each entry both hold, and B / A.

python -m mossrl_hf.bench --compare runs/before/results.json runs/after/results.json
"""

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

# (figure, label): the figures compared, as they sit in an entry record (throughput ones flattened).
FIGURES = (
    ("wall_seconds", "whole command (s)"),
    ("train_runtime", "train time (s)"),
    ("train_samples_per_second", "train samples/s"),
    ("real_tokens_per_second", "real tokens/s"),
    ("padded_tokens_per_second", "padded tokens/s"),
    ("padding_waste", "padding waste"),
    ("model_flops_per_second", "model FLOP/s"),
    ("mfu", "MFU"),
    ("eval_runtime", "eval time (s)"),
    ("test_runtime", "test time (s)"),
    ("peak_rss_bytes", "peak RSS (bytes)"),
    ("peak_gpu_memory_bytes", "peak GPU memory (bytes)"),
    ("metric_value", "metric"),
    ("tagger_seconds", "tagger (s)"),
    ("pipeline_seconds", "pipeline (s)"),
    ("speedup", "tagger speed-up"),
    ("tagger_f1", "tagger F1"),
    ("pipeline_f1", "pipeline F1"),
)


def load_results(path: str) -> dict[str, Any]:
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"--compare {path}: cannot read it ({error.strerror})") from None
    except ValueError:
        raise ConfigError(f"--compare {path}: not JSON") from None
    if not isinstance(results, dict) or not isinstance(results.get("entries"), list):
        raise ConfigError(f"--compare {path}: not a results.json written by mossrl_hf.bench (no entries)")
    return results


def entry_figures(record: dict[str, Any]) -> dict[str, float]:
    """The numeric figures of one entry record, flattened; absent or null figures left out."""
    pool = {**record, **(record.get("throughput") or {}), **(record.get("predict_speed") or {})}
    return {
        name: float(pool[name])
        for name, _ in FIGURES
        if isinstance(pool.get(name), (int, float)) and not isinstance(pool.get(name), bool)
    }


def compare_rows(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure of every finished entry in both files: A, B and B / A (None when A is 0)."""
    later = {record["name"]: record for record in second["entries"] if record.get("status") == "ok"}
    rows = []
    for record in first["entries"]:
        other = later.get(record["name"])
        if record.get("status") != "ok" or other is None:
            continue
        a_figures, b_figures = entry_figures(record), entry_figures(other)
        for name, label in FIGURES:
            if name in a_figures and name in b_figures:
                a, b = a_figures[name], b_figures[name]
                rows.append(
                    {
                        "entry": record["name"],
                        "figure": name,
                        "label": label,
                        "a": a,
                        "b": b,
                        "ratio": b / a if a else None,
                    }
                )
    return rows


def _number(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def _environment_line(tag: str, path: str, results: dict[str, Any]) -> str:
    env = results.get("environment") or {}
    commit = ((env.get("git") or {}).get("commit") or "unknown")[:12]
    return f"{tag}: {path} ({results.get('suite', {}).get('name')}, {env.get('cpu_model')}, commit {commit})"


def compare_text(first_path: str, second_path: str) -> str:
    first, second = load_results(first_path), load_results(second_path)
    rows = compare_rows(first, second)
    lines = [_environment_line("A", first_path, first), _environment_line("B", second_path, second), ""]
    width = max([len(row["entry"]) for row in rows] + [5])
    label_width = max([len(row["label"]) for row in rows] + [6])
    lines.append(f"{'entry':<{width}}  {'figure':<{label_width}}  {'A':>14}  {'B':>14}  {'B/A':>8}")
    for row in rows:
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.3f}"
        lines.append(
            f"{row['entry']:<{width}}  {row['label']:<{label_width}}  {_number(row['a']):>14}  "
            f"{_number(row['b']):>14}  {ratio:>8}"
        )
    names_a = {record["name"] for record in first["entries"]}
    names_b = {record["name"] for record in second["entries"]}
    for tag, only in (("A", names_a - names_b), ("B", names_b - names_a)):
        if only:
            lines.append(f"only in {tag}: {', '.join(sorted(only))}")
    if not rows:
        lines.append("no finished entry in common")
    return "\n".join(lines)
