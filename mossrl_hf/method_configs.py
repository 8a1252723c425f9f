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
