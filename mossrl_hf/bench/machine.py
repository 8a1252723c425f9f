"""The machine and software a benchmark ran on: `reporting.environment` (which describes the hardware) plus
what a benchmark adds: the settings that change thread counts, as the runs saw them, and the torch thread
count each run used."""

from typing import Any

from ..reporting import cpu_model, environment

__all__ = ["bench_environment", "cpu_model", "run_thread_counts"]

# Settings that change how fast the same code runs; recorded as the runs saw them.
_RELEVANT_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TOKENIZERS_PARALLELISM",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
    "HF_HUB_OFFLINE",
)


def bench_environment(data_files: dict[str, str], child_env: dict[str, str]) -> dict[str, Any]:
    """Everything `reporting.environment` records (versions, torch threads, git commit, sha256 of every
    data file) plus the benchmark's additions."""
    info = environment(data_files)
    info.update(
        gpu_names=info["cuda_devices"],
        variables={name: child_env[name] for name in _RELEVANT_VARIABLES if name in child_env},
    )
    return info


def run_thread_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """The torch thread count each entry's run used, by entry name: the harness records its own count
    before the runs, but a run's own count (its environment.json, or the predict-speed figures) is the
    one that explains its speed."""
    counts = {}
    for record in records:
        recorded = (record.get("environment") or {}).get("torch_threads")
        if recorded is None:
            recorded = (record.get("predict_speed") or {}).get("torch_threads")
        if recorded is not None:
            counts[record["name"]] = recorded
    return counts
