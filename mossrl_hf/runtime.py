"""The steps every recipe takes around its task: logging, choosing stages, resuming, saving, results."""

import copy
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import transformers
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy

from . import hp_search, hub, launching, reporting
from .adapters import check_method_supported, count_parameters
from .cli import ParsedArgs, to_plain_dict
from .errors import ConfigError
from .method_configs import check_robustness_flags
from .metrics import modules as metric_modules
from .model_card import TASKS, CardInputs, hyperparameters, model_name_for, write_model_card
from .plots import write_run_plots
from .training.resuming import last_complete_checkpoint
from .training.trainers import metrics_for_one_call

logger = logging.getLogger("mossrl_hf")

_STAGES = {"do_train": "train", "do_eval": "validation", "do_predict": "test"}
MODEL_STAGING = ".model.partial"  # inside output_dir, so that the final renames stay on one filesystem
NOISY_TEST = "test_noisy"  # the test split scored again with --test_noise perturbations
# An old task's test split (continual learning), scored before and after training.
PREVIOUS_BEFORE, PREVIOUS_AFTER = "previous_before", "previous_after"
METRIC_PREFIX = {
    "validation": "eval",
    "test": "test",
    NOISY_TEST: NOISY_TEST,
    PREVIOUS_BEFORE: PREVIOUS_BEFORE,
    PREVIOUS_AFTER: PREVIOUS_AFTER,
}
TRAINING_SPLITS = ("train", "replay")  # kept in file order (the others are length-sorted to predict)


def recipe_defaults(output_dir: str, **overrides: Any) -> dict[str, Any]:
    """The recipes' lowest-priority defaults (a YAML config and flags override them); the rest are
    TrainingArguments' own. Evaluation each epoch and frequent logging give short runs something to show."""
    import torch

    cpu_only = {}
    if not (torch.cuda.is_available() or torch.backends.mps.is_available()):
        # A torchrun worker (accelerate_configs/cpu_ddp.yaml) on a machine without a GPU must be told it
        # is a CPU run, or it trains alone; gloo is the CPU backend that works everywhere (not MPI or ccl).
        cpu_only["use_cpu"] = True
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            cpu_only["ddp_backend"] = "gloo"
    return {
        **cpu_only,
        "output_dir": output_dir,
        "per_device_eval_batch_size": 64,
        "eval_strategy": "epoch",
        "logging_steps": 10,
        "logging_first_step": True,  # even a few-step run has a loss curve to plot
        "dataloader_pin_memory": torch.cuda.is_available(),  # pinning without a GPU only warns
        # A resumed run gets back early stopping's patience count (else it stops later than the run
        # never stopped would have): see mossrl_hf.training.resuming.
        "restore_callback_states_from_checkpoint": True,
        **overrides,
    }


# Each recipe's task, as the model card and peft name it.
TASK_TYPES = {"ner": "TOKEN_CLS", "classification": "SEQ_CLS", "reward_model": "SEQ_CLS"}


def setup_run(parsed: ParsedArgs, task: str) -> None:
    """Logging, and the checks of option combinations that need to know the task, before any work."""
    by_type = {type(value).__name__: value for value in parsed.values}
    setup_logging(training_arguments(parsed))
    peft_args, model_args = by_type.get("PeftArguments"), by_type.get("ModelArguments")
    if peft_args is not None:  # the generative recipes (clm.py, rl.py) take no peft method
        check_method_supported(peft_args, TASK_TYPES[task])
    if model_args is not None and model_args.case_markers and peft_args.is_peft_adapter:
        raise ConfigError(
            f"--case_markers adds token embeddings, which a --peft_method {peft_args.peft_method} adapter "
            "does not save: use it with none, bitfit, freeze or head_only"
        )
    if "RobustnessArguments" in by_type:
        check_robustness_flags(by_type["RobustnessArguments"], parsed.explicit)
    training_args = training_arguments(parsed)
    check_model_selection(training_args, parsed.explicit, task)
    if task not in metric_modules.TASK_MODULES:  # clm.py and rl.py report their own figures
        for flag in ("metric", "hp_search_trials"):
            if getattr(training_args, flag, None):
                raise ConfigError(
                    f"--{flag} goes with ner.py, classify.py and reward_model.py, not the {task} recipe"
                )
        return
    if hasattr(training_args, "hp_search_trials"):  # the encoder recipes: metric modules and search
        metric_modules.load_metric(training_args.metric, task)  # a --metric that loads nothing: refused now
        if training_args.hp_search_trials:
            hp_search.check_space(training_args.hp_search_space, task, peft_args.peft_method, parsed.explicit)


def training_arguments(parsed: ParsedArgs) -> TrainingArguments:
    """The run's TrainingArguments (RecipeTrainingArguments, or TRL's config in rl.py)."""
    return next(value for value in parsed.values if isinstance(value, TrainingArguments))


def check_model_selection(args: TrainingArguments, explicit: set[str], task: str) -> None:
    """`--metric_for_best_model` (early stopping, going back to the best checkpoint, saving only the best)
    must be a figure the task's evaluation produces; by default it is the task's main metric."""
    if not (args.load_best_model_at_end or args.save_strategy == "best"):
        return
    produced = (*TASKS[task].metrics, "loss")
    if getattr(args, "metric", None):  # another module's figures: only the loss is known to exist
        if "metric_for_best_model" not in explicit:
            args.metric_for_best_model, args.greater_is_better = "loss", False
        return
    if "metric_for_best_model" not in explicit:
        args.metric_for_best_model = produced[0]
        if "greater_is_better" not in explicit:
            args.greater_is_better = True
    name = args.metric_for_best_model.removeprefix("eval_")
    if name not in produced:
        raise ConfigError(
            f"--metric_for_best_model {args.metric_for_best_model}: {task} evaluation produces "
            f"{', '.join(produced)}"
        )


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
        if args.load_best_model_at_end:
            flag = "early_stopping_patience" if args.early_stopping_patience else "load_best_model_at_end"
            raise ConfigError(f"--{flag} needs a validation split (give --validation_file)")
        args.eval_strategy = IntervalStrategy.NO
        if "do_eval" not in explicit:
            args.do_eval = False
    searching = getattr(args, "hp_search_trials", 0)  # rl.py's TRL config has no search
    if searching and "validation" not in splits:
        raise ConfigError(
            "--hp_search_trials needs a validation split to score trials (give --validation_file)"
        )
    if searching and not args.do_train:
        raise ConfigError("--hp_search_trials needs training (drop --do_train false)")
    for flag, split in _STAGES.items():
        if getattr(args, flag) and split not in splits:
            raise ConfigError(f"--{flag} needs a {split} split (give the {split} data)")
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and args.world_size == 1:  # each process would train alone on all the data
        raise ConfigError(
            f"started as one of {launched} processes but not in their process group: on a machine "
            "without a GPU add --use_cpu (or use accelerate_configs/cpu_ddp.yaml)"
        )
    if not (args.do_train or args.do_eval or args.do_predict):
        raise ConfigError("nothing to do: give data and/or --do_train, --do_eval, --do_predict")


def needed_splits(args: TrainingArguments) -> set[str]:
    """The splits the planned stages use (no point tokenizing the others)."""
    needed = {split for flag, split in _STAGES.items() if getattr(args, flag)}
    if args.eval_strategy != IntervalStrategy.NO:
        needed.add("validation")
    return needed


def checkpoint_to_resume(args: TrainingArguments) -> str | bool | None:
    """`--resume_from_checkpoint PATH`, or `true` for the newest whole checkpoint in output_dir (a run killed
    while saving one leaves it incomplete: it is skipped)."""
    value = args.resume_from_checkpoint
    if value is None or not args.do_train:
        return None
    if str(value).lower() in ("true", "last", "latest"):
        last = last_complete_checkpoint(args.output_dir, args.world_size)
        if last is None:
            raise ConfigError(
                f"--resume_from_checkpoint {value}: no complete checkpoint in {args.output_dir}"
            )
        return last
    if not Path(value).is_dir():
        raise ConfigError(f"--resume_from_checkpoint {value}: no such checkpoint directory")
    return value


def save_run_record(args: TrainingArguments, parsed: ParsedArgs, data_files: dict[str, str]) -> None:
    """The resolved configuration and the environment, written before training starts; before them, a
    warning when `accelerate launch` left a CPU run on fewer threads than cores. The devices are set up
    by now (TrainingArguments does it), so the torch thread count recorded is the one the run uses."""
    launching.warn_if_few_threads(args.device.type, args.world_size)
    if args.process_index != 0:
        return
    output = Path(args.output_dir)
    config = to_plain_dict(parsed.values)
    config["explicitly_set"] = sorted(parsed.explicit)
    config["config_file"] = parsed.config_path
    reporting.write_json(output / "run_config.json", config)
    reporting.write_json(output / "environment.json", reporting.environment(data_files))


def train_and_save(
    trainer: transformers.Trainer, merge_lora: bool = False, train: Callable | None = None
) -> dict[str, Any]:
    """Train (resuming if asked), save the model, log and save the training figures (token counts too).
    `train(trainer, **train_kwargs)` replaces `trainer.train` (self-training's rounds, say)."""
    train = train or (lambda trainer, **kwargs: trainer.train(**kwargs))
    train_result = train(trainer, resume_from_checkpoint=checkpoint_to_resume(trainer.args))
    save_model(trainer, merge_lora)
    metrics = dict(train_result.metrics)
    # For model-FLOPs estimates (6 x parameters x tokens): embeddings included, adapters' base weights too.
    parameters = list(trainer.model.parameters())
    metrics["train_model_parameters"] = sum(p.numel() for p in parameters)
    metrics["train_trainable_parameters"] = sum(p.numel() for p in parameters if p.requires_grad)
    if hasattr(trainer, "training_token_counts"):
        metrics.update(trainer.training_token_counts())
        seconds = metrics.get("train_runtime") or 0.0
        if seconds > 0:
            metrics["train_real_tokens_per_second"] = round(metrics["train_real_tokens"] / seconds, 1)
            metrics["train_padded_tokens_per_second"] = round(metrics["train_padded_tokens"] / seconds, 1)
    trainer.log_metrics("train", metrics)
    save_metrics(trainer, "train", metrics)
    return metrics


def score_split(
    trainer: transformers.Trainer, split: str, dataset, compute_metrics, extra: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Evaluate (validation) or predict (test) `dataset` with a task's `compute_metrics`, add `extra`
    figures, log and save them as `{prefix}_results.json`. Returns the prefix (eval, test) and the metrics."""
    prefix = METRIC_PREFIX[split]
    with metrics_for_one_call(trainer, compute_metrics):  # a split scored before training, say
        if prefix == "eval":
            metrics = trainer.evaluate(dataset, metric_key_prefix=prefix)
        else:
            metrics = trainer.predict(dataset, metric_key_prefix=prefix).metrics
    metrics.update({f"{prefix}_{key}": value for key, value in (extra or {}).items()})
    samples = getattr(trainer.args, "bootstrap_samples", 0)
    if prefix == "test" and samples and hasattr(compute_metrics, "intervals"):
        # Seeded by the run's seed: the same run gives the same intervals.
        found = compute_metrics.intervals(samples, trainer.args.seed)
        metrics.update({f"test_{name}_ci95": interval for name, interval in found.items()})
    trainer.log_metrics(prefix, {key: value for key, value in metrics.items() if not isinstance(value, list)})
    save_metrics(trainer, prefix, metrics)
    return prefix, metrics


def save_metrics(trainer: transformers.Trainer, split: str, metrics: dict[str, Any]) -> None:
    """`{split}_results.json`, as `Trainer.save_metrics` writes it but whole or not at all."""
    if trainer.is_world_process_zero():
        reporting.write_json(Path(trainer.args.output_dir) / f"{split}_results.json", metrics)


def finish(
    trainer: transformers.Trainer,
    results: dict[str, Any],
    summary_keys: tuple[str, ...],
    parsed: ParsedArgs,
    card: dict[str, Any],
) -> dict:
    """Deliver a run: `all_results.json` (every split's figures and the number of processes), the plots,
    the model card (`card`: CardInputs fields the recipe knows: task, labels, task_detail, ...), a printed
    summary; then, with --push_to_hub, the upload of the finished output_dir."""
    args = trainer.args
    if trainer.is_world_process_zero():
        output = Path(args.output_dir)
        trainable, total = count_parameters(trainer.model)
        results.update(trainable_params=trainable, total_params=total)
        all_results = {**results, "world_size": args.world_size}
        write_run_plots(output, trainer.state.log_history, all_results, card.get("labels"))
        write_model_card(card_inputs(parsed, all_results, card), output)
        # Last, so that its presence says the run finished (a push aside).
        reporting.write_json(output / "all_results.json", all_results)
        keys = [f"{prefix}_{key}" for prefix in ("eval", "test") for key in summary_keys]
        print(f"\nResults ({args.output_dir}):\n{reporting.results_table(results, keys)}")
    # No process leaves (tearing down its end of the process group) while the main one is still writing.
    trainer.accelerator.wait_for_everyone()
    if args.push_to_hub_at_end and trainer.is_world_process_zero():
        print(f"Pushed to {hub.push_output_dir(args)}")
    return results


def card_inputs(parsed: ParsedArgs, results: dict[str, Any], card: dict[str, Any]) -> CardInputs:
    """The model card's view of a run, from its parsed arguments and figures."""
    by_type = {type(value).__name__: value for value in parsed.values}
    peft_args = by_type.get("PeftArguments")  # None in the generative recipes
    model_args = next(value for value in parsed.values if hasattr(value, "model_name_or_path"))
    training_args = training_arguments(parsed)
    data_args = next(value for value in parsed.values if hasattr(value, "data_files"))
    adapter_mode = "none"
    if peft_args is not None and peft_args.is_peft_adapter:
        adapter_mode = "lora-merged" if peft_args.merge_lora else "lora"
    return CardInputs(
        model_name=model_name_for(training_args.output_dir, training_args.hub_model_id),
        results=results,
        hyperparameters=hyperparameters(
            training_args,
            data_args.max_seq_length,
            peft_args,
            model_args if hasattr(model_args, "dropout_overrides") else None,
        ),
        base_model=model_args.model_name_or_path,
        hub_model_id=training_args.hub_model_id,
        data_files=data_args.data_files,
        dataset_name=getattr(data_args, "dataset_name", None),
        adapter_mode=adapter_mode,
        peft_method=peft_args.peft_method if peft_args is not None else "none",
        **card,
    )


def save_model(trainer: transformers.Trainer, merge_lora: bool = False) -> None:
    """Save the model, tokenizer and trainer state into output_dir, each file whole or not at all: they are
    written into a staging folder, then renamed into place one by one (a kill never leaves a truncated
    `model.safetensors` that looks finished)."""
    args = trainer.args
    output = Path(args.output_dir)
    staging = output / MODEL_STAGING
    if args.should_save:
        shutil.rmtree(staging, ignore_errors=True)  # left by a run killed while saving
    trainer.accelerator.wait_for_everyone()
    _save_model_files(trainer, str(staging), merge_lora)  # every process: FSDP and DeepSpeed gather
    trainer.accelerator.wait_for_everyone()
    if args.should_save:
        for path in sorted(staging.iterdir()):
            if path.is_dir() and (output / path.name).is_dir():
                shutil.rmtree(output / path.name)
            os.replace(path, output / path.name)
        staging.rmdir()
    if trainer.is_world_process_zero():
        with reporting.atomic_path(output / "trainer_state.json") as temporary:
            trainer.state.save_to_json(str(temporary))


def _save_model_files(trainer: transformers.Trainer, directory: str, merge_lora: bool) -> None:
    """The model and tokenizer into `directory`. A LoRA adapter also gets its base config (label maps
    included), so that plain `peft` and our loaders rebuild the same head; with `merge_lora` the adapters are
    merged into a copy of the base weights and the directory holds that standalone model instead."""
    model = trainer.model
    if not hasattr(model, "peft_config"):
        trainer.save_model(directory)
        return
    if not merge_lora:
        trainer.save_model(directory)
        if trainer.is_world_process_zero():
            model.get_base_model().config.save_pretrained(directory)
        return
    if trainer.is_world_process_zero():
        # A copy, so that evaluation after saving runs on the very model that was trained.
        merged = copy.deepcopy(model).merge_and_unload()
        merged.save_pretrained(directory)
        trainer.processing_class.save_pretrained(directory)
        logger.info("Saved the LoRA adapters merged into the base model in %s", trainer.args.output_dir)
