"""The steps every recipe takes around its task: logging, choosing stages, resuming, saving, results."""

import logging
import sys
from pathlib import Path
from typing import Any

import datasets
import transformers
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, get_last_checkpoint

from . import reporting
from .cli import ParsedArgs, to_plain_dict
from .errors import ConfigError

logger = logging.getLogger("mossrl_hf")

_STAGES = {"do_train": "train", "do_eval": "validation", "do_predict": "test"}
METRIC_PREFIX = {"validation": "eval", "test": "test"}


def recipe_defaults(output_dir: str, **overrides: Any) -> dict[str, Any]:
    """The recipes' lowest-priority defaults (a YAML config and flags override them); the rest are
    TrainingArguments' own. Evaluation each epoch and frequent logging give short runs something to show."""
    import torch

    return {
        "output_dir": output_dir,
        "per_device_eval_batch_size": 64,
        "eval_strategy": "epoch",
        "logging_steps": 10,
        "dataloader_pin_memory": torch.cuda.is_available(),  # pinning without a GPU only warns
        **overrides,
    }


def setup_logging(args: TrainingArguments) -> None:
    """Main process logs at INFO, the others at WARNING (TrainingArguments' `log_level*` settings)."""
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        handlers=[logging.StreamHandler(sys.stderr)],
    )
    level = args.get_process_log_level()
    logger.setLevel(level)
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.enable_explicit_format()


def plan_stages(args: TrainingArguments, explicit: set[str], splits: set[str]) -> None:
    """With no --do_* flag, do every stage the given splits allow; check that asked stages have their data."""
    if not explicit & set(_STAGES):
        for flag, split in _STAGES.items():
            setattr(args, flag, split in splits)
    if args.eval_strategy != IntervalStrategy.NO and "validation" not in splits:
        if "eval_strategy" in explicit:
            raise ConfigError(f"--eval_strategy {args.eval_strategy.value} needs a validation split")
        args.eval_strategy = IntervalStrategy.NO
        if "do_eval" not in explicit:
            args.do_eval = False
    for flag, split in _STAGES.items():
        if getattr(args, flag) and split not in splits:
            raise ConfigError(f"--{flag} needs a {split} split (give the {split} data)")
    if not (args.do_train or args.do_eval or args.do_predict):
        raise ConfigError("nothing to do: give data and/or --do_train, --do_eval, --do_predict")


def needed_splits(args: TrainingArguments) -> set[str]:
    """The splits the planned stages use (no point tokenizing the others)."""
    needed = {split for flag, split in _STAGES.items() if getattr(args, flag)}
    if args.eval_strategy != IntervalStrategy.NO:
        needed.add("validation")
    return needed


def checkpoint_to_resume(args: TrainingArguments) -> str | bool | None:
    """`--resume_from_checkpoint PATH`, or `true` for the newest checkpoint in output_dir."""
    value = args.resume_from_checkpoint
    if value is None or not args.do_train:
        return None
    if str(value).lower() in ("true", "last", "latest"):
        last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
        if last is None:
            raise ConfigError(f"--resume_from_checkpoint {value}: no checkpoint in {args.output_dir}")
        return last
    if not Path(value).is_dir():
        raise ConfigError(f"--resume_from_checkpoint {value}: no such checkpoint directory")
    return value


def save_run_record(args: TrainingArguments, parsed: ParsedArgs, data_files: dict[str, str]) -> None:
    """The resolved configuration and the environment, written before training starts."""
    if args.process_index != 0:
        return
    output = Path(args.output_dir)
    config = to_plain_dict(parsed.values)
    config["explicitly_set"] = sorted(parsed.explicit)
    config["config_file"] = parsed.config_path
    reporting.write_json(output / "run_config.json", config)
    reporting.write_json(output / "environment.json", reporting.environment(data_files))


def train_and_save(trainer: transformers.Trainer) -> dict[str, Any]:
    """Train (resuming if asked), save the model, log and save the training figures."""
    train_result = trainer.train(resume_from_checkpoint=checkpoint_to_resume(trainer.args))
    save_model(trainer)
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics, combined=False)
    return dict(train_result.metrics)


def score_split(
    trainer: transformers.Trainer, split: str, dataset, compute_metrics, extra: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Evaluate (validation) or predict (test) `dataset` with a task's `compute_metrics`, add `extra`
    figures, log and save them as `{prefix}_results.json`. Returns the prefix (eval, test) and the metrics."""
    prefix = METRIC_PREFIX[split]
    trainer.compute_metrics = compute_metrics
    if prefix == "eval":
        metrics = trainer.evaluate(dataset, metric_key_prefix=prefix)
    else:
        metrics = trainer.predict(dataset, metric_key_prefix=prefix).metrics
    metrics.update({f"{prefix}_{key}": value for key, value in (extra or {}).items()})
    trainer.log_metrics(prefix, {key: value for key, value in metrics.items() if not isinstance(value, list)})
    trainer.save_metrics(prefix, metrics, combined=False)
    return prefix, metrics


def finish(trainer: transformers.Trainer, results: dict[str, Any], summary_keys: tuple[str, ...]) -> dict:
    """Write `all_results.json` (every split's figures and the number of processes) and print a summary."""
    if trainer.is_world_process_zero():
        all_results = {**results, "world_size": trainer.args.world_size}
        reporting.write_json(Path(trainer.args.output_dir) / "all_results.json", all_results)
        keys = [f"{prefix}_{key}" for prefix in ("eval", "test") for key in summary_keys]
        print(f"\nResults ({trainer.args.output_dir}):\n{reporting.results_table(results, keys)}")
    return results


def save_model(trainer: transformers.Trainer) -> None:
    """Save the model and tokenizer; a LoRA adapter also gets its base config (label maps included), so
    that plain `peft` and our loaders rebuild the same head."""
    trainer.save_model()
    trainer.save_state()
    model = trainer.model
    if trainer.is_world_process_zero() and hasattr(model, "peft_config"):
        model.get_base_model().config.save_pretrained(trainer.args.output_dir)
