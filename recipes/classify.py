"""Binary and multi-class text classification (also the classifier used as a reward function).

    accelerate launch recipes/classify.py                    # bundled sentiment sample, offline MiniLM
    accelerate launch recipes/classify.py --config recipes/configs/classify/sst2_minilm_full.yaml
    accelerate launch recipes/classify.py \
        --config recipes/configs/classify/conll2003-has-entity_minilm_full.yaml

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch` (without an accelerate
config, the run gets one thread), on one GPU `--config_file accelerate_configs/single_gpu.yaml`.

Every transformers.TrainingArguments flag works; `--help` lists them all.
"""

from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, set_seed

from mossrl_hf import continual, hp_search, modeling, pseudo_labels, runtime, students
from mossrl_hf.adapters import apply_peft
from mossrl_hf.cli import parse_args
from mossrl_hf.configs import (
    ClassificationDataArguments,
    ContinualArguments,
    DistillationArguments,
    ModelArguments,
    PeftArguments,
    RecipeTrainingArguments,
    RobustnessArguments,
    SelfTrainingArguments,
)
from mossrl_hf.data.classification_data import load_classification_data, resolve_class_labels
from mossrl_hf.data.samples import use_sample_if_no_data
from mossrl_hf.errors import run_main
from mossrl_hf.tasks import classification
from mossrl_hf.training import ClassWeightedTrainer, training_callbacks, with_methods

ARGUMENT_TYPES = (
    ModelArguments,
    ClassificationDataArguments,
    PeftArguments,
    DistillationArguments,
    RobustnessArguments,
    ContinualArguments,
    SelfTrainingArguments,
    RecipeTrainingArguments,
)

# Length-grouped training batches cut padding: sentences run from 1 to over 100 tokens.
RECIPE_DEFAULTS = runtime.recipe_defaults("outputs/classify", train_sampling_strategy="group_by_length")


def main(argv: list[str] | None = None) -> dict:
    parsed = parse_args(ARGUMENT_TYPES, argv, RECIPE_DEFAULTS, __doc__)
    model_args, data_args, peft_args, *method_args, training_args = parsed.values
    distill_args, robust_args, continual_args, self_args = method_args
    runtime.setup_run(parsed, "classification")

    # Data: read and check every split (a continued run's old data too), settle the label set.
    use_sample_if_no_data(data_args, "sentiment")
    data = load_classification_data(data_args, continual_args.data_files)
    runtime.plan_stages(training_args, parsed.explicit, set(data))
    students.check_methods(distill_args, robust_args, model_args, training_args)
    continual.check_continual(continual_args, training_args, parsed.explicit)
    pseudo_labels.check_self_training(self_args, training_args, parsed.explicit)
    runtime.save_run_record(training_args, parsed, {name: split.source for name, split in data.items()})
    model_labels = modeling.trained_labels(modeling.load_config(model_args))
    labels = resolve_class_labels(data, data_args, model_labels, training=training_args.do_train)
    old_label_count = continual.grown_from(model_labels, labels)

    # Model (a student of fewer layers; + adapter or frozen parts), the teacher if any, and features.
    def build_model(peft: PeftArguments):  # also each hyperparameter-search trial's model_init
        model = modeling.load_classifier(model_args, labels, AutoModelForSequenceClassification, tokenizer)
        if distill_args.student_num_layers:
            model = students.keep_layers(model, distill_args.student_num_layers)
        return apply_peft(model, peft, "SEQ_CLS", modeling.model_path(model_args))

    set_seed(training_args.seed)
    tokenizer = modeling.load_tokenizer(model_args)
    model = build_model(peft_args)
    teacher = students.load_teacher(
        distill_args, model_args, labels, AutoModelForSequenceClassification, tokenizer
    )
    needed = runtime.needed_splits(training_args) | set(continual_args.data_files)
    splits = classification.build_splits(data, tokenizer, labels, data_args, needed)
    replay = splits["replay"].features if "replay" in splits else None

    validation = splits.get("validation")
    trainer = with_methods(ClassWeightedTrainer)(
        model=model,
        args=training_args,
        data_collator=DataCollatorWithPadding(tokenizer),
        train_dataset=continual.with_replay(
            splits["train"].features, replay, continual_args.replay_ratio, training_args.seed
        )
        if training_args.do_train
        else None,
        eval_dataset=validation.features if validation else None,
        processing_class=tokenizer,
        callbacks=training_callbacks(training_args),
        compute_metrics=classification.ClassificationMetrics(labels, training_args.metric),
        class_weights=classification.class_weights(data_args.class_weights, data.get("train"), labels),
        **students.trainer_options(distill_args, robust_args, teacher),
        **continual.trainer_options(continual_args, replay, old_label_count),
    )

    forgetting = continual.ForgettingCheck(
        splits.get("previous_test"), classification.scorer(labels), old_label_count
    )
    # Self-training (--unlabeled_file): rounds of training on labelled + confidently pseudo-labelled texts.
    rounds = pseudo_labels.build_self_training(
        self_args, data_args.text_column, data_args.max_seq_length, tokenizer, labels
    )
    forgetting.before(trainer)
    results = {}
    if training_args.do_train:
        train = rounds.train if rounds else None
        results = hp_search.train_and_save(trainer, parsed, "classification", build_model, train)
        results.update(rounds.results() if rounds else {})
    results.update(forgetting.after(trainer, classification.SUMMARY_KEYS))
    for split_name, wanted in (("validation", training_args.do_eval), ("test", training_args.do_predict)):
        if wanted:
            results.update(classification.score_split(trainer, splits[split_name], labels))
    test = splits.get("test") if training_args.do_predict else None
    if test is not None and robust_args.test_noise:
        results.update(classification.score_noisy(trainer, test, tokenizer, labels, data_args, robust_args))
    if test is not None and teacher is not None:
        results.update(students.speed_against_teacher(trainer, teacher, test.features))
    return runtime.finish(
        trainer, results, classification.SUMMARY_KEYS, parsed, classification.card_fields(labels, data_args)
    )


if __name__ == "__main__":
    run_main(main)
