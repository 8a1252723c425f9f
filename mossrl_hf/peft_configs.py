"""Arguments of the parameter-efficient family: which weights a run trains (re-exported by configs)."""

from dataclasses import dataclass, field
from typing import Optional

from .errors import ConfigError

PEFT_METHODS = (
    "none",
    "lora",
    "dora",
    "ia3",
    "prompt_tuning",
    "prefix_tuning",
    "p_tuning",
    "bitfit",
    "freeze",
    "head_only",
)
PROMPT_METHODS = ("prompt_tuning", "prefix_tuning", "p_tuning")  # virtual tokens or keys, no weight change
# Adapters peft can fold into the base weights (--merge_lora); prompt methods add inputs, not weights.
MERGEABLE_METHODS = ("lora", "dora", "ia3")


@dataclass
class PeftArguments:
    """Which weights train: all (`none`), peft adapters, or a subset of the model's own weights."""

    peft_method: Optional[str] = field(
        default=None,
        metadata={
            "help": "`none` (all weights), peft's `lora`, `dora`, `ia3`, `prompt_tuning`, `prefix_tuning`, "
            "`p_tuning` (adapters saved with the head), or `bitfit` (biases and head), `freeze` (embeddings "
            "and the lower --freeze_layers layers frozen), `head_only` (a linear probe). Default: `none`, "
            "`lora` with --use_lora, `freeze` with --freeze_layers."
        },
    )
    use_lora: bool = field(default=False, metadata={"help": "The same as --peft_method lora."})
    lora_r: int = field(default=16, metadata={"help": "LoRA / DoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    lora_dropout: float = field(default=0.1, metadata={"help": "Dropout on the LoRA branch."})
    lora_target_modules: Optional[list[str]] = field(
        default=None,
        metadata={
            "help": "Module names to adapt (LoRA, DoRA, IA3). Default: peft's choice for the architecture "
            "(query and value projections for BERT, RoBERTa, XLM-R, ELECTRA; query_proj/value_proj for "
            "DeBERTa-v2)."
        },
    )
    num_virtual_tokens: int = field(
        default=20, metadata={"help": "Prompt / prefix / P-tuning: virtual tokens learned per input."}
    )
    prompt_tuning_init_text: Optional[str] = field(
        default=None,
        metadata={
            "help": "Prompt tuning: start the virtual tokens from this text's embeddings (else random)."
        },
    )
    encoder_hidden_size: Optional[int] = field(
        default=None, metadata={"help": "P-tuning: hidden size of the prompt encoder (default: the model's)."}
    )
    freeze_layers: Optional[int] = field(
        default=None,
        metadata={
            "help": "With `freeze`: encoder layers frozen from the bottom, besides the embeddings (0: the "
            "embeddings alone). Default: half the model's layers."
        },
    )
    merge_lora: bool = field(
        default=False,
        metadata={
            "help": "Save LoRA / DoRA / IA3 adapters merged into the base weights: a standalone model that "
            "plain transformers loads (without it, output_dir holds the adapter, loaded with peft)."
        },
    )

    def __post_init__(self):
        implied = "lora" if self.use_lora else "freeze" if self.freeze_layers is not None else "none"
        method = self.peft_method or implied
        if method not in PEFT_METHODS:
            raise ConfigError(f"--peft_method must be one of {', '.join(PEFT_METHODS)}, not {method!r}")
        if self.use_lora and method not in ("lora", "dora"):
            raise ConfigError(
                f"--use_lora means --peft_method lora; it cannot go with --peft_method {method}"
            )
        if self.freeze_layers is not None and method != "freeze":
            raise ConfigError(f"--freeze_layers goes with --peft_method freeze, not {method}")
        if self.freeze_layers is not None and self.freeze_layers < 0:
            raise ConfigError(f"--freeze_layers must be 0 or more, not {self.freeze_layers}")
        if self.merge_lora and method not in MERGEABLE_METHODS:
            raise ConfigError(
                f"--merge_lora needs an adapter that merges into the weights "
                f"({', '.join(MERGEABLE_METHODS)}), "
                f"not --peft_method {method}"
            )
        if self.lora_r < 1:
            raise ConfigError(f"--lora_r must be at least 1, not {self.lora_r}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"--lora_dropout must be in [0, 1), not {self.lora_dropout}")
        if self.num_virtual_tokens < 1:
            raise ConfigError(f"--num_virtual_tokens must be at least 1, not {self.num_virtual_tokens}")
        self.peft_method = method

    @property
    def is_peft_adapter(self) -> bool:
        """Whether the run trains (and saves) a peft adapter rather than the model's own weights."""
        return self.peft_method not in ("none", "bitfit", "freeze", "head_only")


LoraArguments = PeftArguments  # the name of earlier versions, which only had LoRA
