"""Arguments of the training methods beyond plain fine-tuning: knowledge distillation into a smaller
student, adversarial training on the word embeddings, and the noisy test that measures robustness
(re-exported by configs)."""

from dataclasses import dataclass, field
from typing import Optional

from .errors import ConfigError

ADVERSARIAL_METHODS = ("none", "fgm", "pgd", "freelb")
TEST_NOISE_KINDS = ("typos", "case", "drop_word")


@dataclass
class DistillationArguments:
    """A teacher whose predictions the trained model (the student) learns from, and the student's size."""

    teacher_model_name_or_path: Optional[str] = field(
        default=None,
        metadata={
            "help": "A model this recipe trained (full or adapter) with the same label set and tokenizer "
            "vocabulary: the student also learns its softened predictions. Default: no teacher."
        },
    )
    distill_alpha: float = field(
        default=0.5,
        metadata={"help": "Weight of the teacher's (soft) loss in [0, 1]; the labels' loss gets 1 - alpha."},
    )
    distill_temperature: float = field(
        default=2.0,
        metadata={
            "help": "Softmax temperature of teacher and student in the soft loss (> 0; scaled back by T^2)."
        },
    )
    distill_cache_teacher_logits: bool = field(
        default=True,
        metadata={
            "help": "Keep the teacher's outputs of each training input for later epochs instead of running "
            "the teacher again (it is in eval mode: they do not change)."
        },
    )
    distill_hidden_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of a hidden-state loss added to the soft one (TinyBERT, Jiao et al. 2020): the "
            "mean squared difference between each student layer's output and the teacher layer at the same "
            "relative depth (student layer m of M <-> teacher layer m*N/M), over real tokens. Needs the "
            "teacher's hidden size; the teacher then runs every step (no logits cache). 0: off."
        },
    )
    student_num_layers: Optional[int] = field(
        default=None,
        metadata={
            "help": "Build the model from the base model's encoder keeping K of its layers, evenly spaced "
            "from the bottom (6 -> 3 keeps layers 0, 2, 4, as DistilBERT's 'every other layer'). "
            "Default: all."
        },
    )

    def __post_init__(self):
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise ConfigError(f"--distill_alpha must be in [0, 1], not {self.distill_alpha}")
        if self.distill_temperature <= 0:
            raise ConfigError(f"--distill_temperature must be above 0, not {self.distill_temperature}")
        if self.distill_hidden_weight < 0:
            raise ConfigError(f"--distill_hidden_weight must be 0 or above, not {self.distill_hidden_weight}")
        if self.student_num_layers is not None and self.student_num_layers < 1:
            raise ConfigError(f"--student_num_layers must be at least 1, not {self.student_num_layers}")


@dataclass
class RobustnessArguments:
    """Adversarial training (perturbed word embeddings) and a second, perturbed scoring of the test split."""

    adversarial: str = field(
        default="none",
        metadata={
            "help": "`none`; `fgm` (one step along the loss gradient, Miyato et al.); `pgd` (--adv_steps "
            "projected steps, Madry et al.); `freelb` (--adv_steps steps whose gradients all train, Zhu et "
            "al.). The perturbation is added to the output of the model's input embedding module."
        },
    )
    adv_epsilon: float = field(
        default=1.0, metadata={"help": "Largest L2 norm of the perturbation of one example's embeddings."}
    )
    adv_alpha: float = field(
        default=0.3, metadata={"help": "PGD / FreeLB: L2 length of each step of the perturbation."}
    )
    adv_steps: int = field(default=3, metadata={"help": "PGD / FreeLB: perturbation steps per batch."})
    test_noise: Optional[str] = field(
        default=None,
        metadata={
            "help": "Score the test split a second time with seeded perturbed words, reported as "
            "test_noisy_*: `typos` (characters inside a word), `case` (a word's case), `drop_word` (NER: "
            "words tagged O; classification: any word)."
        },
    )
    test_noise_rate: float = field(
        default=0.1, metadata={"help": "Share of the words --test_noise perturbs, in (0, 1]."}
    )

    def __post_init__(self):
        if self.adversarial not in ADVERSARIAL_METHODS:
            raise ConfigError(
                f"--adversarial must be one of {', '.join(ADVERSARIAL_METHODS)}, not {self.adversarial!r}"
            )
        if self.adversarial != "none" and self.adv_epsilon <= 0:
            raise ConfigError(
                f"--adversarial {self.adversarial} needs --adv_epsilon above 0, not {self.adv_epsilon}"
            )
        if self.adversarial in ("pgd", "freelb") and self.adv_alpha <= 0:
            raise ConfigError(
                f"--adversarial {self.adversarial} needs --adv_alpha above 0, not {self.adv_alpha}"
            )
        if self.adv_steps < 1:
            raise ConfigError(f"--adv_steps must be at least 1, not {self.adv_steps}")
        if self.test_noise is not None and self.test_noise not in TEST_NOISE_KINDS:
            raise ConfigError(
                f"--test_noise must be one of {', '.join(TEST_NOISE_KINDS)}, not {self.test_noise!r}"
            )
        if not 0.0 < self.test_noise_rate <= 1.0:
            raise ConfigError(f"--test_noise_rate must be in (0, 1], not {self.test_noise_rate}")


CONTINUAL_REGULARIZERS = ("none", "l2sp", "ewc")


@dataclass
class ContinualArguments:
    """Continuing a trained model on new data without forgetting the old: replay, a penalty that keeps the
    weights near the starting model's, and the old task's test scored before and after."""

    replay_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "The old task's training data (same format as --train_file): a share of it "
            "(--replay_ratio) is mixed into the new training data. Its labels must be in the model's."
        },
    )
    replay_ratio: float = field(
        default=0.25,
        metadata={
            "help": "Old examples mixed in per new training example (0.25: one old for every four new), "
            "drawn with --seed; beyond what --replay_file holds, its examples repeat. 0: none (the file "
            "only serves EWC's Fisher information)."
        },
    )
    continual_regularization: str = field(
        default="none",
        metadata={
            "help": "`none`; `l2sp` (lambda/2 * sum of (w - w_start)^2 over the starting model's weights, "
            "Li et al. 2018); `ewc` (each term weighted by its diagonal Fisher information on "
            "--replay_file, scaled to mean 1, Kirkpatrick et al. 2017). New head rows are not held."
        },
    )
    continual_lambda: float = field(
        default=1.0, metadata={"help": "Weight of the --continual_regularization penalty (> 0)."}
    )
    ewc_fisher_samples: int = field(
        default=256,
        metadata={"help": "EWC: --replay_file examples (the first ones) the Fisher information is taken on."},
    )
    previous_test_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "The old task's test data: scored before and after training (previous_before_*, "
            "previous_after_*) and reported as forgetting_* (before - after). NER scores it over the "
            "entity types it has: a word of a new type counts as O there."
        },
    )

    def __post_init__(self):
        if self.continual_regularization not in CONTINUAL_REGULARIZERS:
            raise ConfigError(
                f"--continual_regularization must be one of {', '.join(CONTINUAL_REGULARIZERS)}, "
                f"not {self.continual_regularization!r}"
            )
        if self.continual_regularization != "none" and self.continual_lambda <= 0:
            raise ConfigError(f"--continual_lambda must be above 0, not {self.continual_lambda}")
        if self.continual_regularization == "ewc" and not self.replay_file:
            raise ConfigError(
                "--continual_regularization ewc estimates the Fisher information on the old data: "
                "give --replay_file"
            )
        if self.replay_ratio < 0:
            raise ConfigError(f"--replay_ratio must be 0 or more, not {self.replay_ratio}")
        if self.ewc_fisher_samples < 1:
            raise ConfigError(f"--ewc_fisher_samples must be at least 1, not {self.ewc_fisher_samples}")

    @property
    def data_files(self) -> dict[str, str]:
        files = {"replay": self.replay_file, "previous_test": self.previous_test_file}
        return {split: path for split, path in files.items() if path}


@dataclass
class SelfTrainingArguments:
    """Self-training: unlabeled texts labelled by the model (or a reward function), the confident ones
    trained on beside the labelled data, round after round."""

    unlabeled_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "Unlabeled texts: one a line (.txt, .txt.gz), or JSON Lines with --text_column. "
            "Blank lines are errors."
        },
    )
    self_training_rounds: int = field(
        default=1,
        metadata={
            "help": "With --unlabeled_file: rounds of pseudo-labelling and training after the first "
            "training on the labelled data (each trains --num_train_epochs on labelled + kept)."
        },
    )
    self_training_epochs: Optional[float] = field(
        default=None,
        metadata={
            "help": "Epochs of each pseudo-labelled round (a few labelled examples may need more epochs "
            "than labelled + thousands of kept texts). Default: --num_train_epochs."
        },
    )
    pseudo_label_threshold: float = field(
        default=0.9,
        metadata={
            "help": "Keep an unlabeled text when its predicted class's probability is at least this "
            "(with --pseudo_label_model: its score >= threshold -> positive, <= 1 - threshold -> negative)."
        },
    )
    pseudo_label_model: Optional[str] = field(
        default=None,
        metadata={
            "help": "Label with this classifier or reward model (anything mossrl_hf.reward loads; a "
            "scalar reward passes through a sigmoid) instead of the model being trained; two-label tasks."
        },
    )
    max_unlabeled_samples: Optional[int] = field(
        default=None, metadata={"help": "Use at most the first this many unlabeled texts."}
    )

    def __post_init__(self):
        if not 0.0 <= self.pseudo_label_threshold <= 1.0:
            raise ConfigError(
                f"--pseudo_label_threshold must be in [0, 1], not {self.pseudo_label_threshold}"
            )
        if self.self_training_rounds < 1:
            raise ConfigError(f"--self_training_rounds must be at least 1, not {self.self_training_rounds}")
        if self.self_training_epochs is not None and self.self_training_epochs <= 0:
            raise ConfigError(f"--self_training_epochs must be above 0, not {self.self_training_epochs}")
        if self.max_unlabeled_samples is not None and self.max_unlabeled_samples < 1:
            raise ConfigError(f"--max_unlabeled_samples must be at least 1, not {self.max_unlabeled_samples}")


# Robustness flags that act only with a given choice of another flag: (flag, the flag it needs, the values).
_ROBUSTNESS_FLAG_NEEDS = (
    ("adv_epsilon", "adversarial", ("fgm", "pgd", "freelb")),
    ("adv_alpha", "adversarial", ("pgd", "freelb")),
    ("adv_steps", "adversarial", ("pgd", "freelb")),
)


def check_robustness_flags(args: RobustnessArguments, explicit: set[str]) -> None:
    """A flag the user set that the chosen method would ignore is refused rather than silently unused."""
    for flag, needs, values in _ROBUSTNESS_FLAG_NEEDS:
        if flag in explicit and getattr(args, needs) not in values:
            raise ConfigError(
                f"--{flag} is for --{needs} {_one_of(values)}, not --{needs} {getattr(args, needs)}"
            )
    if "test_noise_rate" in explicit and args.test_noise is None:
        kinds = _one_of(TEST_NOISE_KINDS)
        raise ConfigError(f"--test_noise_rate is for --test_noise {kinds}: give --test_noise")


def _one_of(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
