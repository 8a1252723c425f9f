"""Which `evaluate` module scores a task: its own (mossrl_hf/metrics/, imported) or the user's `--metric`.

The task modules are plain `evaluate.Metric` classes; `evaluate.load("<path to their file>")` gives the same
figures. A user module (`--metric PATH_OR_ID`) gets the task's predictions and references only, and its result
is flattened to the `{name: number}` Trainer logs (`overall_f1` -> `f1`, `{"PER": {"f1": x}}` -> `PER_f1`).
"""

import functools
from pathlib import Path

import evaluate

from ..errors import ConfigError
from .classification_scores import ClassificationScores
from .ner_seqeval import NerSeqeval
from .pairwise_preference import PairwisePreference

TASK_MODULES = {"ner": NerSeqeval, "classification": ClassificationScores, "reward_model": PairwisePreference}
OWN_MODULE_NAMES = {kind.__name__ for kind in TASK_MODULES.values()}


def module_file(task: str) -> Path:
    """The task module's file, for `evaluate.load`."""
    return Path(__file__).parent / f"{TASK_MODULES[task].__module__.rsplit('.', 1)[-1]}.py"


@functools.cache
def load_metric(spec: str | None, task: str) -> evaluate.EvaluationModule:
    """The task's own module (imported) when `spec` is None, else `evaluate.load(spec)`. A spec that loads
    nothing (no such file, an id neither on the Hub nor cached offline) is refused in one line."""
    if spec is None:
        return TASK_MODULES[task](keep_in_memory=True)
    try:
        return evaluate.load(spec, keep_in_memory=True)
    except Exception as error:  # evaluate raises FileNotFoundError, ConnectionError, ValueError, ...
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"--metric {spec}: no evaluate module found (no module file or folder there, not on the Hub "
            f"or in the offline cache): {reason}"
        ) from None


def is_own(module: evaluate.EvaluationModule) -> bool:
    """One of this package's task modules, imported or loaded by path (a copy of the class, same name)."""
    return type(module).__name__ in OWN_MODULE_NAMES


def flatten(result: dict, prefix: str = "") -> dict:
    """A module's result as flat numbers: nested dicts joined with `_`, `overall_` dropped."""
    flat = {}
    for key, value in result.items():
        name = f"{prefix}{str(key).removeprefix('overall_')}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = value.item() if hasattr(value, "item") else value
    return flat


def score(module: evaluate.EvaluationModule, predictions, references, **own_kwargs) -> dict:
    """Compute with `module`; the task's own modules also get `own_kwargs` (scheme, label names, scores)."""
    if is_own(module):
        return module.compute(predictions=predictions, references=references, **own_kwargs)
    return flatten(module.compute(predictions=predictions, references=references))
