"""Run a recipe script or a module as `__main__` in this process, then record its peak GPU memory.

    python -m mossrl_hf.bench.child recipes/ner.py --flag value ...
    python -m mossrl_hf.bench.child mossrl_hf.bench.predict_speed --flag value ...

The harness starts every entry through this wrapper so that GPU memory is measured the same way for every
entry without the recipes knowing about the harness. Peak RSS needs no help: the harness reads it from the
process's resource usage when it ends. The wrapper imports nothing heavy itself: torch is asked only if the
run loaded it.
"""

import atexit
import json
import os
import runpy
import sys
from pathlib import Path

GPU_MEMORY_FILE_ENV = "MOSSRL_BENCH_GPU_MEMORY_FILE"


def record_gpu_peak(path: str) -> None:
    """Peak memory the run's tensors took (allocated) and the caching allocator held (reserved), in bytes,
    over every device the run used; nothing when it never touched CUDA."""
    torch = sys.modules.get("torch")
    peak = {"allocated": None, "reserved": None}
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        devices = range(torch.cuda.device_count())
        peak = {
            "allocated": max(torch.cuda.max_memory_allocated(device) for device in devices),
            "reserved": max(torch.cuda.max_memory_reserved(device) for device in devices),
        }
    Path(path).write_text(json.dumps(peak) + "\n", encoding="utf-8")


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m mossrl_hf.bench.child SCRIPT.py|MODULE [ARGS...]")
    target, arguments = sys.argv[1], sys.argv[2:]
    gpu_file = os.environ.get(GPU_MEMORY_FILE_ENV)
    if gpu_file:
        atexit.register(record_gpu_peak, gpu_file)
    sys.argv = [target, *arguments]
    if target.endswith(".py"):
        # As `python SCRIPT.py` would: the script's folder first on the import path.
        sys.path[0] = str(Path(target).resolve().parent)
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
