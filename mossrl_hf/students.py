"""Distillation set-up for the recipes: the teacher (loaded and checked like the recipe's own model), a
smaller student cut from the base model's layers, and the two models' prediction speed."""

import dataclasses
import logging
import time

import torch

from . import modeling
from .adapters import count_parameters, encoder_layers
from .configs import DistillationArguments, ModelArguments
from .errors import ConfigError

logger = logging.getLogger(__name__)


def kept_layers(depth: int, count: int) -> list[int]:
    """`count` of `depth` layers, evenly spaced from the bottom: i * depth // count. For half the depth
    that is every other layer from the first (6 -> 3: 0, 2, 4), as DistilBERT was initialised from BERT."""
    if not 1 <= count <= depth:
        raise ConfigError(
            f"--student_num_layers must be between 1 and the base model's {depth} layers, not {count}"
        )
    return [index * depth // count for index in range(count)]


def check_student_layers(args: DistillationArguments, model_args: ModelArguments) -> None:
    """Refuse, before any work, a layer count the base model cannot give."""
    if args.student_num_layers is not None:
        depth = modeling.load_config(model_args).num_hidden_layers
        kept_layers(depth, args.student_num_layers)


def keep_layers(model, count: int):
    """The model with `count` of its encoder layers (`kept_layers`), found through `encoder_layers`, and
    `config.num_hidden_layers` set to match, so the saved model reloads with plain `from_pretrained`."""
    name, layers = encoder_layers(model)
    keep = kept_layers(len(layers), count)
    new_layers = torch.nn.ModuleList([layers[index] for index in keep])
    for position, layer in enumerate(new_layers):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):  # attention's cache slot, if the architecture has one
                module.layer_idx = position
    parent_name, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attribute, new_layers)
    model.config.num_hidden_layers = count
    logger.info("Student: encoder layers %s of %d kept", keep, len(layers))
    return model


def _vocabulary_difference(student_tokenizer, teacher_tokenizer) -> str | None:
    student, teacher = student_tokenizer.get_vocab(), teacher_tokenizer.get_vocab()
    if student == teacher:
        return None
    only = sorted(set(teacher) ^ set(student))
    example = f", e.g. {only[0]!r} in one only" if only else " (same tokens, other ids)"
    return f"{len(teacher)} tokens against the student's {len(student)}{example}"


def load_teacher(args: DistillationArguments, model_args: ModelArguments, labels, auto_class, tokenizer):
    """The teacher, loaded as the recipe loads its model, after checking that it predicts the same labels
    (in the same order) and shares the student tokenizer's vocabulary; None without a teacher."""
    path = args.teacher_model_name_or_path
    if path is None:
        return None
    teacher_args = dataclasses.replace(
        model_args, model_name_or_path=path, tokenizer_name_or_path=None, case_markers=False
    )
    teacher_config = modeling.load_config(teacher_args)
    teacher_labels = modeling.trained_labels(teacher_config)
    if teacher_labels != list(labels):
        raise ConfigError(
            f"--teacher_model_name_or_path {path}: the teacher predicts {teacher_labels}, "
            f"this run {list(labels)}"
        )
    if args.distill_hidden_weight:
        width = getattr(modeling.load_config(model_args), "hidden_size", None)
        teacher_width = getattr(teacher_config, "hidden_size", None)
        if width != teacher_width:
            raise ConfigError(
                f"--distill_hidden_weight: the teacher {path} has hidden size {teacher_width}, the student "
                f"{width}; hidden states compare only at the same width"
            )
    difference = _vocabulary_difference(tokenizer, modeling.load_tokenizer(teacher_args))
    if difference:
        raise ConfigError(f"--teacher_model_name_or_path {path}: another tokenizer vocabulary ({difference})")
    teacher = modeling.load_classifier(teacher_args, labels, auto_class, tokenizer)
    return teacher.eval().requires_grad_(False)


def time_predictions(trainer, model, dataset) -> float:
    """Seconds for `model`'s forward passes over `dataset`, batched as the trainer predicts (its test
    loader, its autocast), after one warm-up batch."""
    loader = trainer.get_test_dataloader(dataset)
    device = trainer.args.device
    model = model.to(device).eval()
    batches = [{key: value.to(device) for key, value in batch.items() if key != "labels"} for batch in loader]
    with torch.inference_mode(), trainer.accelerator.autocast():
        model(**batches[0])
        start = time.perf_counter()
        for batch in batches:
            model(**batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - start


def speed_against_teacher(trainer, teacher, dataset) -> dict[str, float]:
    """The student's (trainer.model) and the teacher's prediction speed on `dataset` (examples per
    second of forward passes, measured the same way one after the other) and parameter counts."""
    student_seconds = time_predictions(trainer, trainer.model, dataset)
    teacher_seconds = time_predictions(trainer, teacher, dataset)
    rows = len(dataset)
    return {
        "student_predict_examples_per_second": round(rows / student_seconds, 2),
        "teacher_predict_examples_per_second": round(rows / teacher_seconds, 2),
        "student_predict_speedup": round(teacher_seconds / student_seconds, 3),
        "teacher_total_params": count_parameters(teacher)[1],
    }


def check_methods(args: DistillationArguments, noise, model_args: ModelArguments, training_args) -> None:
    """Option checks of distillation and the noisy test that need the other arguments, before any work."""
    check_student_layers(args, model_args)
    if args.distill_hidden_weight and args.teacher_model_name_or_path is None:
        raise ConfigError("--distill_hidden_weight needs a teacher (--teacher_model_name_or_path)")
    if noise.test_noise is not None and not training_args.do_predict:
        raise ConfigError(
            f"--test_noise {noise.test_noise} scores the test split: it needs --do_predict and test data"
        )


def trainer_options(args: DistillationArguments, robustness, teacher) -> dict:
    """Keyword arguments of `training.with_methods(...)` classes for these options."""
    return {
        "teacher": teacher,
        "distill_alpha": args.distill_alpha,
        "distill_temperature": args.distill_temperature,
        "cache_teacher_logits": args.distill_cache_teacher_logits,
        "distill_hidden_weight": args.distill_hidden_weight,
        "adversarial": robustness.adversarial,
        "adv_epsilon": robustness.adv_epsilon,
        "adv_alpha": robustness.adv_alpha,
        "adv_steps": robustness.adv_steps,
    }
