"""What an entry's run left behind, turned into the figures the harness reports.

Nothing is estimated: a figure the run did not write (the recipes' token counts, say) is recorded as null.
"""

import json
import re
from pathlib import Path
from typing import Any

from .flops import model_flops, training_precision

# Figures that depend on the clock; everything else a run reports must repeat exactly with the same seed.
_TIMING = re.compile(r"(_runtime|_per_second|_seconds|_speedup)$")
PREDICTION_FILES = ("test_predictions.conll", "test_predictions.jsonl", "eval_predictions.jsonl")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def is_timing(key: str) -> bool:
    return bool(_TIMING.search(key))


def deterministic_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures a re-run with the same seed on the same machine must reproduce exactly."""
    return {key: value for key, value in metrics.items() if not is_timing(key)}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _per_second(count: float | None, seconds: float | None) -> float | None:
    return count / seconds if count is not None and seconds else None


def throughput(metrics: dict[str, Any]) -> dict[str, Any]:
    """Training speed: samples/s as Trainer reports it; real (padding excluded) and padded tokens/s from
    the recipe's token counts over `train_runtime` (which includes evaluation during training, the same
    schedule for every arm)."""
    runtime = _number(metrics.get("train_runtime"))
    real = _number(metrics.get("train_real_tokens"))
    padded = _number(metrics.get("train_padded_tokens"))
    return {
        "train_runtime": runtime,
        "train_samples": metrics.get("train_samples"),
        "train_samples_per_second": _number(metrics.get("train_samples_per_second")),
        "train_steps_per_second": _number(metrics.get("train_steps_per_second")),
        "epochs": _number(metrics.get("epoch")),
        "real_tokens": real,
        "padded_tokens": padded,
        "real_tokens_per_second": _per_second(real, runtime),
        "padded_tokens_per_second": _per_second(padded, runtime),
        "padding_waste": 1.0 - real / padded if real is not None and padded else None,
    }


def config_value(run_config: dict[str, Any], key: str) -> Any:
    """A setting from `run_config.json`, whichever argument section holds it."""
    for section in run_config.values():
        if isinstance(section, dict) and key in section:
            return section[key]
    return None


def weights_on_disk(output_dir: Path) -> int | None:
    """Bytes of the saved weights (a whole model, or an adapter with its head), checkpoints aside."""
    files = [*output_dir.glob("*.safetensors"), *output_dir.glob("*.bin")]
    return sum(path.stat().st_size for path in files) if files else None


def recipe_figures(output_dir: Path, metric: str | None) -> dict[str, Any]:
    """Figures of a recipe run from `all_results.json`, `run_config.json` and `environment.json`.

    Raises FileNotFoundError when the run wrote no `all_results.json` (it did not finish)."""
    metrics = read_json(output_dir / "all_results.json")
    if metrics is None:
        raise FileNotFoundError(f"{output_dir / 'all_results.json'}: not written (the run did not finish)")
    run_config = read_json(output_dir / "run_config.json") or {}
    fallback = metric.replace("test_", "eval_", 1) if metric and metric.startswith("test_") else None
    chosen = metric if metric in metrics else fallback if fallback in metrics else metric
    environment = read_json(output_dir / "environment.json")
    speed = throughput(metrics)
    devices = (environment or {}).get("cuda_devices") or [None]
    speed.update(
        model_parameters=_number(metrics.get("train_model_parameters")),
        **model_flops(
            _number(metrics.get("train_model_parameters")),
            speed["real_tokens"],
            speed["train_runtime"],
            devices[0],
            training_precision(run_config, config_value),
        ),
    )
    return {
        "metric": chosen,
        "metric_value": _number(metrics.get(chosen)) if chosen else None,
        "throughput": speed,
        "eval_runtime": _number(metrics.get("eval_runtime")),
        "test_runtime": _number(metrics.get("test_runtime")),
        "world_size": metrics.get("world_size"),
        "max_train_samples": config_value(run_config, "max_train_samples"),
        "peft_method": config_value(run_config, "peft_method"),
        "parameters": {
            "trainable": metrics.get("trainable_params"),
            "total": metrics.get("total_params"),
            "weights_bytes": weights_on_disk(output_dir),
        },
        "subset_seed": config_value(run_config, "subset_seed"),
        "metrics": metrics,
        "run_config": run_config,
        "environment": environment,
    }


def predict_speed_figures(result_file: Path) -> dict[str, Any]:
    result = read_json(result_file)
    if result is None:
        raise FileNotFoundError(f"{result_file}: not written (the run did not finish)")
    return {
        "metric": "tagger_f1",
        "metric_value": _number(result.get("tagger_f1")),
        "metrics": result,
        "predict_speed": result,
    }


def gpu_peak(path: Path) -> int | None:
    """Peak GPU memory (allocated by tensors, bytes) the child wrapper recorded; None without CUDA."""
    recorded = read_json(path) or {}
    value = recorded.get("allocated")
    return int(value) if isinstance(value, int) else None
