"""Arguments of the generative recipes: causal-LM pretraining (clm.py) and reinforcement learning against
reward models (rl.py). No `from __future__ import annotations`: `HfArgumentParser` needs the real types."""

import argparse
from dataclasses import dataclass, field
from typing import Optional

import torch
from trl import GRPOConfig, RLOOConfig

from . import hub
from .errors import ConfigError

RL_ALGORITHMS = ("grpo", "rloo")
REWARD_INPUTS = ("full", "completion")


@dataclass
class TextSplitArguments:
    """Plain text for language modelling, and its held-out share: what clm.py and mlm.py read alike."""

    train_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "Training text: one text a line (.txt, .txt.gz), or a JSON(L)/CSV/TSV file's column."
        },
    )
    validation_file: Optional[str] = field(
        default=None, metadata={"help": "Validation text, as train_file (default: held out of train_file)."}
    )
    text_column: str = field(default="text", metadata={"help": "Column (key) holding the text in JSON/CSV."})
    validation_split_percentage: float = field(
        default=5.0,
        metadata={"help": "Without --validation_file: this share of train_file's texts is held out."},
    )
    max_train_samples: Optional[int] = field(
        default=None, metadata={"help": "Use at most this many training texts (drawn with --seed)."}
    )

    def __post_init__(self):
        if not 0 < self.validation_split_percentage < 100:
            raise ConfigError(
                f"--validation_split_percentage must be in (0, 100), not {self.validation_split_percentage}"
            )
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ConfigError(f"--max_train_samples must be at least 1, not {self.max_train_samples}")

    @property
    def data_files(self) -> dict[str, str]:
        files = {"train": self.train_file, "validation": self.validation_file}
        return {split: path for split, path in files.items() if path}


@dataclass
class TextDataArguments(TextSplitArguments):
    block_size: int = field(
        default=128,
        metadata={
            "help": "Texts are joined (each after an end-of-text token) and cut into blocks "
            "of this many tokens."
        },
    )

    def __post_init__(self):
        if self.block_size < 8:
            raise ConfigError(f"--block_size must be at least 8, not {self.block_size}")
        super().__post_init__()

    @property
    def max_seq_length(self) -> int:  # the model card's name for it
        return self.block_size


@dataclass
class LanguageModelArguments:
    model_name_or_path: Optional[str] = field(
        default=None,
        metadata={
            "help": "A causal LM to continue training (local directory or Hub id). Default: a new "
            "GPT-2-style model built from --model_config, with a tokenizer trained on the training text."
        },
    )
    tokenizer_name_or_path: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer directory or Hub id, if not the model's own."}
    )
    model_config: str = field(
        default="small",
        metadata={
            "help": "Without --model_name_or_path: the new model's size, a preset (tiny, small, base) "
            "and/or GPT2Config values, e.g. 'small,n_layer=6' or 'n_embd=128,n_layer=2,n_head=2'."
        },
    )
    tokenizer_vocab_size: int = field(
        default=4096, metadata={"help": "Without a tokenizer: the byte-level BPE vocabulary size to train."}
    )
    model_revision: str = field(default="main", metadata={"help": "Branch, tag or commit of a Hub model."})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "Where to cache Hub downloads."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow model code from the Hub to run."})
    allow_pickle_weights: bool = field(
        default=False, metadata={"help": "Also load pickle weights (pytorch_model.bin), which can run code."}
    )

    def __post_init__(self):
        if self.tokenizer_vocab_size < 300:  # 256 bytes and the special tokens come first
            raise ConfigError(f"--tokenizer_vocab_size must be at least 300, not {self.tokenizer_vocab_size}")


@dataclass
class PolicyArguments:
    """The policy; --trust_remote_code is TRL's own flag (GRPOConfig / RLOOConfig)."""

    model_name_or_path: Optional[str] = field(
        default=None,
        metadata={
            "help": "The policy to train: a causal LM (e.g. recipes/clm.py's output), directory or Hub id."
        },
    )
    model_revision: str = field(default="main", metadata={"help": "Branch, tag or commit of a Hub model."})
    allow_pickle_weights: bool = field(
        default=False, metadata={"help": "Also load pickle weights (pytorch_model.bin), which can run code."}
    )

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ConfigError(
                "--model_name_or_path is needed: the policy (a causal LM, e.g. from recipes/clm.py)"
            )


@dataclass
class RlArguments:
    rl_algorithm: str = field(
        default="grpo", metadata={"help": f"TRL's trainer: {' or '.join(RL_ALGORITHMS)}."}
    )
    reward_model: list[str] = field(
        default_factory=list,
        metadata={
            "help": "A reward model directory: classify.py's output (the probability or logit of "
            "--positive_label) or reward_model.py's (its scalar). Give several, with --reward_weights."
        },
    )
    positive_label: Optional[list[str]] = field(
        default=None,
        metadata={
            "help": "The classifier label that is rewarded: one for all reward models or one each "
            "(default: a conventional positive name, else the second of two labels)."
        },
    )
    reward_score: Optional[str] = field(
        default=None,
        metadata={
            "help": "probability or logit (default: probability for classifiers, the raw output for "
            "one-output reward models)."
        },
    )
    reward_input: str = field(
        default="full",
        metadata={"help": "What the reward models read: full (prompt and completion) or completion."},
    )
    prompts_file: Optional[str] = field(
        default=None,
        metadata={"help": "Training prompts: one a line, or a JSON(L)/CSV column (--prompt_column)."},
    )
    eval_prompts_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "Held-out prompts for the evaluation before and after training (default: 10% of "
            "--prompts_file, held out)."
        },
    )
    prompt_column: str = field(default="prompt", metadata={"help": "Column (key) of the prompt in JSON/CSV."})
    eval_generations: int = field(
        default=4, metadata={"help": "Completions sampled per held-out prompt in the evaluation."}
    )
    min_completion_length: int = field(
        default=0,
        metadata={
            "help": "Completions are at least this many tokens, in training and evaluation (the end-of-text "
            "token is held back until then): a policy cannot please a reward model with empty or one-word "
            "completions. 0: no minimum."
        },
    )

    def __post_init__(self):
        if self.rl_algorithm not in RL_ALGORITHMS:
            raise ConfigError(
                f"--rl_algorithm must be one of {', '.join(RL_ALGORITHMS)}, not {self.rl_algorithm!r}"
            )
        if not self.reward_model:
            raise ConfigError("--reward_model is needed: a classify.py or reward_model.py output directory")
        labels = self.positive_label or []
        if len(labels) not in (0, 1, len(self.reward_model)):
            raise ConfigError(
                f"--positive_label: give one label or one per reward model ({len(self.reward_model)}), "
                f"not {len(labels)}"
            )
        if self.reward_score not in (None, "probability", "logit"):
            raise ConfigError(f"--reward_score must be probability or logit, not {self.reward_score!r}")
        if self.reward_input not in REWARD_INPUTS:
            raise ConfigError(
                f"--reward_input must be one of {', '.join(REWARD_INPUTS)}, not {self.reward_input!r}"
            )
        if not self.prompts_file:
            raise ConfigError("--prompts_file is needed: training prompts, one a line")
        if self.eval_generations < 1:
            raise ConfigError(f"--eval_generations must be at least 1, not {self.eval_generations}")
        if self.min_completion_length < 0:
            raise ConfigError(f"--min_completion_length must be 0 or more, not {self.min_completion_length}")

    def label_for(self, index: int) -> Optional[str]:
        labels = self.positive_label or []
        return labels[0] if len(labels) == 1 else labels[index] if labels else None

    @property
    def data_files(self) -> dict[str, str]:
        files = {"train": self.prompts_file, "validation": self.eval_prompts_file}
        return {split: path for split, path in files.items() if path}

    max_seq_length = None  # the model card asks every data argument for it


def _recipe_post_init(args, algorithm: str) -> None:
    """What RecipeTrainingArguments does for the other recipes, before TRL's own checks: --push_to_hub
    once at the end (mossrl_hf.hub), the group size checked with a message naming the flag; and bf16."""
    if args.num_generations is not None and args.num_generations < 2:
        raise ConfigError(
            f"--num_generations must be at least 2 for {algorithm} (each completion's advantage is measured "
            f"against the other completions of its prompt), not {args.num_generations}"
        )
    args.push_to_hub_at_end, args.push_to_hub = bool(args.push_to_hub), False
    if args.bf16 is None and not torch.cuda.is_available():
        # TRL turns bf16 on when it is not set; on a CPU, bf16 autocast is slower than float32 on most
        # processors (and TrainingArguments refuses it without --use_cpu): there it stays off unless asked.
        args.bf16 = False


@dataclass
class GrpoTrainingArguments(GRPOConfig):
    """TRL's GRPOConfig as it is: every TRL flag works."""

    push_to_hub_at_end: bool = field(default=False, init=False)

    def __post_init__(self):
        _recipe_post_init(self, "grpo")
        super().__post_init__()
        hub.hide_token(self)


@dataclass
class RlooTrainingArguments(RLOOConfig):
    """TRL's RLOOConfig as it is: every TRL flag works."""

    push_to_hub_at_end: bool = field(default=False, init=False)

    def __post_init__(self):
        _recipe_post_init(self, "rloo")
        super().__post_init__()
        hub.hide_token(self)


TRAINING_ARGUMENTS = {"grpo": GrpoTrainingArguments, "rloo": RlooTrainingArguments}


def rl_algorithm_in(argv: list[str]) -> str:
    """--rl_algorithm from the flags, else from the --config file, else grpo: it decides which TRL config
    (and so which flags) the rest of the command line is parsed with."""
    from .cli import load_yaml_config  # here: cli imports configs, which this module sits beside

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--rl_algorithm", default=None)
    pre.add_argument("--config", default=None)
    known = pre.parse_known_args(argv)[0]
    algorithm = known.rl_algorithm
    if algorithm is None and known.config:
        algorithm = load_yaml_config(known.config).get("rl_algorithm")
    return algorithm if algorithm in TRAINING_ARGUMENTS else "grpo"


REPEATABLE = ("--reward_model", "--positive_label", "--reward_weights")


def join_repeated(argv: list[str], flags: tuple[str, ...] = REPEATABLE) -> list[str]:
    """`--reward_model A --reward_model B` as `--reward_model A B`: argparse keeps only the last occurrence
    of a list option, and one flag per reward model reads better with its label and weight beside it."""
    values: dict[str, list[str]] = {}
    rest: list[str] = []
    current = None
    for token in argv:
        name, equals, value = token.partition("=")
        if name in flags:
            current = name
            values.setdefault(name, [])
            if equals:
                values[name].append(value)
            continue
        if current is not None and not token.startswith("--"):
            values[current].append(token)
            continue
        current = None
        rest.append(token)
    return rest + [part for name, items in values.items() for part in (name, *items)]
