"""Hyperparameter search for every recipe: `Trainer.hyperparameter_search` with optuna, then one final run.

    --hp_search_trials 20 [--hp_search_space recipes/configs/ner/hp_space.yaml]

A space file maps each searched option to a range or a list of choices:

    learning_rate: {low: 1.0e-5, high: 1.0e-4, log: true}
    per_device_train_batch_size: [16, 32]
    num_train_epochs: {low: 1, high: 3}
    lora_r: [8, 16, 32]

Training options are set on TrainingArguments by Trainer for each trial; PEFT options reach the model through
`model_init`, which rebuilds the recipe's model (the recipe's own building function) with the trial's values.
The objective is the dev figure the run would select on (--metric_for_best_model, else the task's main
metric); each per-epoch evaluation is reported to optuna, whose median pruner stops trials below the median of
earlier ones. Every trial lands in hp_search.jsonl, the best parameters in run_config.json, and the final run
trains with them and reports as usual.
"""

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers.trainer_utils import SaveStrategy

from .cli import load_yaml_config
from .errors import ConfigError
from .reporting import atomic_write_lines, write_json

logger = logging.getLogger(__name__)

HP_SEARCH_FILE = "hp_search.jsonl"
# Searchable options and their types; training ones live on TrainingArguments, the others on PeftArguments.
TRAINING_KEYS = {
    "learning_rate": float,
    "per_device_train_batch_size": int,
    "num_train_epochs": int,
    "weight_decay": float,
    "warmup_steps": int,
}
PEFT_KEYS = {
    "lora_r": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "num_virtual_tokens": int,
    "freeze_layers": int,
}
# Which --peft_method a PEFT option acts on.
PEFT_KEY_METHODS = {
    "lora_r": ("lora", "dora"),
    "lora_alpha": ("lora", "dora"),
    "lora_dropout": ("lora", "dora"),
    "num_virtual_tokens": ("prompt_tuning", "prefix_tuning", "p_tuning"),
    "freeze_layers": ("freeze",),
}
_COMMON_SPACE = {
    "learning_rate": {"low": 1.0e-5, "high": 1.0e-4, "log": True},
    "per_device_train_batch_size": [16, 32],
    "num_train_epochs": {"low": 1, "high": 3},
    "warmup_steps": {"low": 0, "high": 100},
}
DEFAULT_SPACES = {
    "ner": _COMMON_SPACE,
    "classification": _COMMON_SPACE,
    "reward_model": {**_COMMON_SPACE, "learning_rate": {"low": 5.0e-6, "high": 5.0e-5, "log": True}},
}


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: type
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False

    def suggest(self, trial) -> Any:
        """The trial's value (optuna returns the same value when asked twice in one trial)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def describe(self) -> Any:
        if self.choices is not None:
            return list(self.choices)
        return {"low": self.low, "high": self.high, "log": self.log}


def _number(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float)) and math.isfinite(value)


def parse_parameter(name: str, value: Any, where: str) -> Parameter:
    """One option's range (`{low, high[, log]}`) or choices (a list), checked."""
    kind = {**TRAINING_KEYS, **PEFT_KEYS}[name]
    type_name = "integers" if kind is int else "numbers"
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: {name}: empty list of choices")
        if not all(_number(item, kind) for item in value):
            raise ConfigError(f"{where}: {name}: choices must be {type_name}, not {value}")
        return Parameter(name, kind, choices=tuple(value))
    if (
        not isinstance(value, dict)
        or set(value) - {"low", "high", "log"}
        or not {"low", "high"} <= set(value)
    ):
        raise ConfigError(
            f"{where}: {name}: expected {{low: ..., high: ...[, log: true]}} or a list of choices"
        )
    low, high, log = value["low"], value["high"], value.get("log", False)
    if not (_number(low, kind) and _number(high, kind)) or not isinstance(log, bool):
        raise ConfigError(f"{where}: {name}: low and high must be {type_name}, log true or false")
    if low > high:
        raise ConfigError(f"{where}: {name}: empty range (low {low} > high {high})")
    if log and low <= 0:
        raise ConfigError(f"{where}: {name}: a log range needs low > 0, not {low}")
    return Parameter(name, kind, low=low, high=high, log=log)


def load_space(path: str | None, task: str, fixed: set[str] = frozenset()) -> list[Parameter]:
    """The search space of `path` (a YAML file; it searches what it names, whatever else was set), or the
    task's default space without the options the user set (`fixed`: those keep the user's value)."""
    if path is None:
        raw = {name: value for name, value in DEFAULT_SPACES[task].items() if name not in fixed}
        if not raw:
            raise ConfigError(
                f"--hp_search_trials: every option of the default space is set "
                f"({', '.join(DEFAULT_SPACES[task])}); give --hp_search_space FILE.yaml"
            )
    else:
        raw = load_yaml_config(path)
    known = {**TRAINING_KEYS, **PEFT_KEYS}
    if not raw:
        raise ConfigError(f"--hp_search_space {path}: no option to search")
    parameters = []
    for name, value in raw.items():
        where = raw.where(name) if hasattr(raw, "where") else f"default {task} space"
        if name not in known:
            raise ConfigError(f"{where}: unknown search option {name!r} (known: {', '.join(known)})")
        parameters.append(parse_parameter(name, value, where))
    return parameters


def check_space(
    path: str | None, task: str, peft_method: str, fixed: set[str] = frozenset()
) -> list[Parameter]:
    """Load the space and check that each PEFT option acts on the run's --peft_method."""
    space = load_space(path, task, fixed)
    for parameter in space:
        methods = PEFT_KEY_METHODS.get(parameter.name)
        if methods and peft_method not in methods:
            raise ConfigError(
                f"--hp_search_space {path}: {parameter.name} acts on --peft_method {' or '.join(methods)}, "
                f"not {peft_method}"
            )
    return space


def _peft_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in PEFT_KEYS}


def _median_pruner(startup_trials: int):
    """The median rule (stop a trial whose latest evaluation is worse than the median of the finished trials'
    evaluations at the same point), where the same point is the n-th evaluation, not the same step: trials
    with other batch sizes evaluate at other steps, and optuna's MedianPruner would compare nothing. It
    remembers the trials it stopped, for hp_search.jsonl."""
    import optuna

    class EvaluationMedianPruner(optuna.pruners.BasePruner):
        def __init__(self):
            self.pruned: set[int] = set()

        def prune(self, study, trial) -> bool:
            if not trial.intermediate_values:
                return False
            done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
            finished = study.get_trials(deepcopy=False, states=done)
            count = len(trial.intermediate_values)
            earlier = [
                [value for _, value in sorted(other.intermediate_values.items())][count - 1]
                for other in finished
                if len(other.intermediate_values) >= count
            ]
            if len(finished) < startup_trials or not earlier:
                return False
            latest = trial.intermediate_values[max(trial.intermediate_values)]
            median = float(np.median(earlier))
            maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
            if latest < median if maximize else latest > median:
                self.pruned.add(trial.number)
                return True
            return False

    return EvaluationMedianPruner()


def objective_of(args, task: str) -> str:
    """The dev figure a search optimises: --metric_for_best_model when set, else the task's main metric."""
    from .model_card import TASKS

    # With another evaluate module (--metric) only the loss is sure to exist.
    name = args.metric_for_best_model or ("loss" if args.metric else TASKS[task].metrics[0])
    return name if name.startswith("eval_") else f"eval_{name}"


def train_and_save(
    trainer, parsed, task: str, build_model: Callable[[Any], Any], train: Callable | None = None
) -> dict[str, Any]:
    """runtime.train_and_save (with `train` as its training step), after a search when --hp_search_trials
    asks for one (the final run's figures then also carry the best trial's number and dev figure).
    `build_model(peft_args)` is the recipe's own model building, run again for each trial."""
    from . import runtime

    record = None
    peft_args = next(value for value in parsed.values if type(value).__name__ == "PeftArguments")
    if trainer.args.hp_search_trials:
        objective = objective_of(trainer.args, task)
        record = search(trainer, task, peft_args, build_model, objective, parsed.explicit)
    results = runtime.train_and_save(trainer, peft_args.merge_lora, train)
    if record is not None:
        results.update(hp_search_best_trial=record["best_trial"], hp_search_best_value=record["best_value"])
    return results


def search(
    trainer, task: str, peft_args, build_model: Callable[[Any], Any], objective: str, fixed: set[str]
) -> dict[str, Any]:
    """Run the trials, write hp_search.jsonl, leave `trainer` set up for the final run with the best values
    (its args changed, its model rebuilt by `model_init` when it trains). Returns the search's record."""
    import optuna

    args = trainer.args
    space = check_space(args.hp_search_space, task, peft_args.peft_method, fixed)
    trials: dict[int, dict[str, Any]] = {}

    def hp_space(trial) -> dict[str, Any]:
        values = {parameter.name: parameter.suggest(trial) for parameter in space}
        return {name: value for name, value in values.items() if name in TRAINING_KEYS}

    def model_init(trial):
        values = (
            {parameter.name: parameter.suggest(trial) for parameter in space} if trial is not None else {}
        )
        return build_model(dataclasses.replace(peft_args, **_peft_values(values)))

    def compute_objective(metrics: dict[str, float]) -> float:
        trial, value = trainer._trial, float(metrics[objective])
        record = trials.setdefault(trial.number, {"trial": trial.number, "params": dict(trial.params)})
        record.update({objective: value, "epoch": metrics.get("epoch")})
        return value

    kept = {name: getattr(args, name) for name in (*TRAINING_KEYS, "save_strategy")}
    if not args.load_best_model_at_end:
        args.save_strategy = SaveStrategy.NO  # trials' checkpoints would only fill output_dir/run-N
    pruner = _median_pruner(startup_trials=min(5, max(1, args.hp_search_trials // 4)))
    trainer.model_init = model_init
    best = trainer.hyperparameter_search(
        hp_space=hp_space,
        compute_objective=compute_objective,
        n_trials=args.hp_search_trials,
        direction="minimize" if objective == "eval_loss" or args.greater_is_better is False else "maximize",
        backend="optuna",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=pruner,
    )
    for name, value in kept.items():
        setattr(args, name, value)
    for name, value in best.hyperparameters.items():
        if name in TRAINING_KEYS:
            setattr(args, name, type(getattr(args, name))(value))
    for name, value in _peft_values(best.hyperparameters).items():
        setattr(peft_args, name, value)  # in place: the model card and the final model use them
    trainer.model_init = lambda: build_model(peft_args)
    logger.info(
        "hyperparameter search: best trial %s, %s %.4f, %s",
        best.run_id,
        objective,
        best.objective,
        best.hyperparameters,
    )
    return _write_record(args, trials, pruner.pruned, space, best, objective)


def _write_record(args, trials: dict, pruned: set[int], space: list[Parameter], best, objective: str) -> dict:
    """hp_search.jsonl (one line per trial) and the search's record in run_config.json; returns the record."""
    lines = [
        json.dumps({**record, "pruned": number in pruned}) + "\n" for number, record in sorted(trials.items())
    ]
    record = {
        "trials": args.hp_search_trials,
        "objective": objective,
        "space": {parameter.name: parameter.describe() for parameter in space},
        "best_trial": int(best.run_id),
        "best_value": best.objective,
        "best_params": best.hyperparameters,
    }
    if args.process_index == 0:
        output = Path(args.output_dir)
        atomic_write_lines(output / HP_SEARCH_FILE, lines)
        config_path = output / "run_config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        write_json(config_path, {**config, "hp_search": record})
    return record
