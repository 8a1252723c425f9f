"""Data arguments, one dataclass per task (re-exported by configs). `metadata["help"]` is the only help text.

No `from __future__ import annotations` here: `HfArgumentParser` needs the real types at runtime.
"""

from dataclasses import dataclass, field
from typing import Optional

from .errors import ConfigError


def eval_by_length_field():
    """One definition of the flag shared by the tasks' data arguments."""
    return field(
        default=True,
        metadata={
            "help": "Evaluate and predict in batches of similar length (shortest first) to cut padding; "
            "figures and prediction files keep the input order. `false`: batches in input order."
        },
    )


def default_stride(max_seq_length: int) -> int:
    """Tokens shared by neighbouring windows when the user gave no --stride: a quarter of the window (32 for
    128), so that any --max_seq_length alone is a valid setting."""
    return max_seq_length // 4


def resolve_stride(stride: Optional[int], max_seq_length: int) -> int:
    """The stride to use: the user's, checked against the window, or the default that follows the window."""
    if max_seq_length < 8:
        raise ConfigError(f"--max_seq_length must be at least 8, not {max_seq_length}")
    if stride is None:
        return default_stride(max_seq_length)
    widest = (max_seq_length - 2) // 2  # two special tokens; windows must move forward
    if not 0 <= stride <= widest:
        raise ConfigError(
            f"--stride must be between 0 and half the window ({widest} for --max_seq_length "
            f"{max_seq_length}), not {stride}"
        )
    return stride


class SplitFiles:
    """What every task's data arguments share: one file per split and a cap on each split's size."""

    train_file: Optional[str]
    validation_file: Optional[str]
    test_file: Optional[str]
    max_train_samples: Optional[int]
    max_eval_samples: Optional[int]
    max_test_samples: Optional[int]

    @property
    def data_files(self) -> dict[str, str]:
        files = {"train": self.train_file, "validation": self.validation_file, "test": self.test_file}
        return {split: path for split, path in files.items() if path}

    @property
    def sample_limits(self) -> dict[str, Optional[int]]:
        return {
            "train": self.max_train_samples,
            "validation": self.max_eval_samples,
            "test": self.max_test_samples,
        }

    def check_sample_limits(self) -> None:
        for name in ("max_train_samples", "max_eval_samples", "max_test_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name} must be a positive number, not {value}")


@dataclass
class NerDataArguments(SplitFiles):
    dataset_name: Optional[str] = field(
        default=None,
        metadata={"help": "A dataset saved with `datasets.save_to_disk` (a directory) or a Hub dataset id."},
    )
    dataset_config_name: Optional[str] = field(
        default=None, metadata={"help": "Configuration name of a Hub dataset."}
    )
    train_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "Training data: CoNLL column file (any extension but .json/.jsonl) or JSON (Lines)."
        },
    )
    validation_file: Optional[str] = field(default=None, metadata={"help": "Validation data, as train_file."})
    test_file: Optional[str] = field(default=None, metadata={"help": "Test data, as train_file."})
    tag_column: int = field(
        default=-1,
        metadata={"help": "CoNLL files: 0-based column holding the tag; negative counts from the end."},
    )
    tokens_column: str = field(default="tokens", metadata={"help": "JSON / datasets: key of the word list."})
    tags_column: str = field(default="ner_tags", metadata={"help": "JSON / datasets: key of the tag list."})
    label_names: Optional[list[str]] = field(
        default=None,
        metadata={
            "help": "The label set, in id order (needed when tags are given as ints). Tags outside it are "
            "errors. Default: the tags seen in the training split."
        },
    )
    tag_scheme: str = field(
        default="keep",
        metadata={
            "help": "`keep` the scheme the files use (IOB1, IOB2 or BIOES, detected), or `iob2`: convert."
        },
    )
    max_seq_length: int = field(
        default=128,
        metadata={
            "help": "Longest input in sub-word tokens; longer sentences are split into overlapping windows."
        },
    )
    stride: Optional[int] = field(
        default=None,
        metadata={
            "help": "Tokens shared by consecutive windows of a long sentence. Default: a quarter of "
            "--max_seq_length (32 for 128)."
        },
    )
    decoding: str = field(
        default="constrained",
        metadata={
            "help": "`constrained`: the best tag sequence the scheme allows (IOB2/BIOES: no entity opened "
            "by I-); `argmax`: each word's best tag on its own."
        },
    )
    eval_by_length: bool = eval_by_length_field()
    label_all_tokens: bool = field(
        default=False,
        metadata={
            "help": "Label every sub-token of a word, not just the first (B- becomes I- on continuation "
            "pieces)."
        },
    )
    max_train_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep only the first N training sentences."}
    )
    max_eval_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep only the first N validation sentences."}
    )
    max_test_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep only the first N test sentences."}
    )
    preprocessing_num_workers: Optional[int] = field(
        default=None, metadata={"help": "Processes used to tokenize the data."}
    )

    def __post_init__(self):
        if self.decoding not in ("constrained", "argmax"):
            raise ConfigError(f"--decoding must be 'constrained' or 'argmax', not {self.decoding!r}")
        if self.tag_scheme not in ("keep", "iob2"):
            raise ConfigError(f"--tag_scheme must be 'keep' or 'iob2', not {self.tag_scheme!r}")
        self.stride = resolve_stride(self.stride, self.max_seq_length)
        self.check_sample_limits()


@dataclass
class ClassificationDataArguments(SplitFiles):
    dataset_name: Optional[str] = field(
        default=None,
        metadata={"help": "A dataset saved with `datasets.save_to_disk` (a directory) or a Hub dataset id."},
    )
    dataset_config_name: Optional[str] = field(
        default=None, metadata={"help": "Configuration of a Hub dataset."}
    )
    train_file: Optional[str] = field(
        default=None,
        metadata={"help": "Training data: CSV, TSV, JSON / JSON Lines (or CoNLL with --labels_from)."},
    )
    validation_file: Optional[str] = field(default=None, metadata={"help": "Validation data, as train_file."})
    test_file: Optional[str] = field(default=None, metadata={"help": "Test data, as train_file."})
    text_column: str = field(default="text", metadata={"help": "Column (key) holding the text."})
    text_pair_column: Optional[str] = field(
        default=None, metadata={"help": "Column holding the second text of sentence-pair tasks."}
    )
    label_column: str = field(
        default="label", metadata={"help": "Column holding the label (a string or an int)."}
    )
    label_names: Optional[list[str]] = field(
        default=None,
        metadata={
            "help": "The label set in id order (int labels index it). Default: the training labels, sorted."
        },
    )
    labels_from: str = field(
        default="column",
        metadata={
            "help": "`column`: labels are in --label_column. `conll_has_entity`: the files are CoNLL NER "
            "files; each sentence becomes an example (its words joined by spaces) labelled `entity` "
            "when any tag is not O, else `no_entity` (-DOCSTART- lines are not examples)."
        },
    )
    tag_column: int = field(
        default=-1, metadata={"help": "With conll_has_entity: the column holding the NER tag."}
    )
    eval_by_length: bool = eval_by_length_field()
    class_weights: str = field(
        default="none",
        metadata={
            "help": "`none`, `auto` (inverse class frequency in the training split) or `w1,w2,...` per label."
        },
    )
    max_seq_length: int = field(
        default=128, metadata={"help": "Longest input in tokens; longer texts are truncated."}
    )
    max_train_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep the first N training examples."}
    )
    max_eval_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep the first N validation examples."}
    )
    max_test_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep the first N test examples."}
    )
    subset_seed: Optional[int] = field(
        default=None,
        metadata={"help": "With max_*_samples: a random subset drawn with this seed, not the first N."},
    )
    preprocessing_num_workers: Optional[int] = field(
        default=None, metadata={"help": "Processes used to tokenize."}
    )

    def __post_init__(self):
        self.check_sample_limits()
        if self.labels_from not in ("column", "conll_has_entity"):
            raise ConfigError(
                f"--labels_from must be 'column' or 'conll_has_entity', not {self.labels_from!r}"
            )
        if self.class_weights not in ("none", "auto"):
            try:
                [float(weight) for weight in self.class_weights.split(",")]
            except ValueError:
                raise ConfigError(
                    "--class_weights must be 'none', 'auto' or comma-separated numbers, "
                    f"not {self.class_weights!r}"
                ) from None
        if self.max_seq_length < 8:
            raise ConfigError(f"--max_seq_length must be at least 8, not {self.max_seq_length}")


@dataclass
class PreferenceDataArguments(SplitFiles):
    train_file: Optional[str] = field(
        default=None,
        metadata={"help": "JSON Lines (optionally .gz) with chosen and rejected texts per line."},
    )
    validation_file: Optional[str] = field(
        default=None, metadata={"help": "Validation pairs, as train_file."}
    )
    test_file: Optional[str] = field(default=None, metadata={"help": "Test pairs, as train_file."})
    prompt_column: str = field(
        default="prompt",
        metadata={"help": "Key of the prompt. Without it, the prompt is the dialogue the two texts share."},
    )
    chosen_column: str = field(default="chosen", metadata={"help": "Key of the preferred text."})
    rejected_column: str = field(default="rejected", metadata={"help": "Key of the rejected text."})
    margin_column: Optional[str] = field(
        default=None,
        metadata={"help": "Key of a per-pair margin m: loss -log sigmoid(r_chosen - r_rejected - m)."},
    )
    validation_split_percentage: Optional[int] = field(
        default=None,
        metadata={
            "help": "Hold out this percentage of the training file (drawn with --split_seed) as the "
            "validation split, and as the test split too when no test file is given. The held-out lines are "
            "recorded."
        },
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the held-out draw."})
    eval_by_length: bool = eval_by_length_field()
    max_seq_length: int = field(
        default=256,
        metadata={"help": "Longest prompt + response in tokens; the prompt is cut from the left to fit."},
    )
    max_train_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep the first N training pairs."}
    )
    max_eval_samples: Optional[int] = field(
        default=None, metadata={"help": "Keep the first N validation pairs."}
    )
    max_test_samples: Optional[int] = field(default=None, metadata={"help": "Keep the first N test pairs."})
    center_rewards_coefficient: Optional[float] = field(
        default=None, metadata={"help": "Adds c * mean((r_chosen + r_rejected)^2) to keep rewards near zero."}
    )

    def __post_init__(self):
        self.check_sample_limits()
        percentage = self.validation_split_percentage
        if percentage is not None and not 0 < percentage < 100:
            raise ConfigError(f"--validation_split_percentage must be between 1 and 99, not {percentage}")
        if self.max_seq_length < 8:
            raise ConfigError(f"--max_seq_length must be at least 8, not {self.max_seq_length}")
