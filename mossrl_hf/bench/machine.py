"""The machine and software a benchmark ran on: `reporting.environment` plus what a benchmark adds (the
CPU model, the cores this process may use, memory, GPU names, the settings that change thread counts)."""

import os
import platform
from pathlib import Path
from typing import Any

from ..reporting import environment

# Settings that change how fast the same code runs; recorded as the runs saw them.
_RELEVANT_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TOKENIZERS_PARALLELISM",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
    "HF_HUB_OFFLINE",
)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first `model name` in /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int | None:
    """Cores this process may run on (an affinity mask or a container can give fewer than cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def gpu_names() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]


def bench_environment(data_files: dict[str, str], child_env: dict[str, str]) -> dict[str, Any]:
    """Everything `reporting.environment` records (versions, torch threads, git commit, sha256 of every
    data file) plus the benchmark's additions."""
    info = environment(data_files)
    info.update(
        cpu_model=cpu_model(),
        usable_cores=usable_cores(),
        memory_bytes=memory_bytes(),
        gpu_names=gpu_names(),
        variables={name: child_env[name] for name in _RELEVANT_VARIABLES if name in child_env},
    )
    return info
