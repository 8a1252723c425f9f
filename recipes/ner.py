"""Named entity recognition (token classification) on CoNLL-style data with transformers.Trainer.

    accelerate launch recipes/ner.py                                   # bundled sample, offline MiniLM
    accelerate launch recipes/ner.py --config recipes/configs/ner/conll2003_minilm_full.yaml
    python recipes/ner.py --model_name_or_path outputs/ner --do_eval --do_predict \
        --validation_file dev.txt --test_file test.txt                 # score a saved model

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch` (without an accelerate
config, the run gets one thread), on one GPU `--config_file accelerate_configs/single_gpu.yaml`.

Every transformers.TrainingArguments flag works; `--help` lists them all.
"""

from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification, set_seed

from mossrl_hf import continual, hp_search, modeling, runtime, students
from mossrl_hf.adapters import apply_peft
from mossrl_hf.cli import parse_args
from mossrl_hf.configs import (
    ContinualArguments,
    DistillationArguments,
    ModelArguments,
    NerDataArguments,
    PeftArguments,
    RecipeTrainingArguments,
    RobustnessArguments,
)
from mossrl_hf.data.decoding import WordTagger
from mossrl_hf.data.ner_data import load_ner_data, resolve_labels
from mossrl_hf.data.samples import use_sample_if_no_data
from mossrl_hf.errors import run_main
from mossrl_hf.tasks import ner
from mossrl_hf.training import RecipeTrainer, training_callbacks, with_methods

ARGUMENT_TYPES = (
    ModelArguments,
    NerDataArguments,
    PeftArguments,
    DistillationArguments,
    RobustnessArguments,
    ContinualArguments,
    RecipeTrainingArguments,
)

# Length-grouped training batches cut padding: sentences run from 1 to over 100 tokens.
RECIPE_DEFAULTS = runtime.recipe_defaults("outputs/ner", train_sampling_strategy="group_by_length")


def main(argv: list[str] | None = None) -> dict:
    parsed = parse_args(ARGUMENT_TYPES, argv, RECIPE_DEFAULTS, __doc__)
    model_args, data_args, peft_args, distill_args, robust_args, continual_args, training_args = parsed.values
    runtime.setup_run(parsed, "ner")

    # Data: read and check every split (a continued run's old data too), settle the tag scheme and labels.
    use_sample_if_no_data(data_args, "ner")
    data = load_ner_data(data_args, continual_args.data_files)
    runtime.plan_stages(training_args, parsed.explicit, set(data.splits))
    students.check_methods(distill_args, robust_args, model_args, training_args)
    continual.check_continual(continual_args, training_args, parsed.explicit)
    runtime.save_run_record(training_args, parsed, data.sources())
    model_labels = modeling.trained_labels(modeling.load_config(model_args))
    labels = resolve_labels(data, data_args, model_labels, training=training_args.do_train)
    old_label_count = continual.grown_from(model_labels, labels)
    tagger = WordTagger(tuple(labels), data.scheme, data_args.decoding)

    # Model (a student of fewer layers; + adapter or frozen parts), the teacher if any, then features:
    # windows of sub-tokens, the first piece of each word labelled.
    def build_model(peft: PeftArguments):  # also each hyperparameter-search trial's model_init
        model = modeling.load_classifier(model_args, labels, AutoModelForTokenClassification, tokenizer)
        if distill_args.student_num_layers:
            model = students.keep_layers(model, distill_args.student_num_layers)
        ner.remember_decoding(model, tagger)
        return apply_peft(model, peft, "TOKEN_CLS", modeling.model_path(model_args))

    set_seed(training_args.seed)
    tokenizer = modeling.load_tokenizer(model_args)
    model = build_model(peft_args)
    teacher = students.load_teacher(
        distill_args, model_args, labels, AutoModelForTokenClassification, tokenizer
    )
    needed = runtime.needed_splits(training_args) | set(continual_args.data_files)
    splits = ner.build_splits(data, tokenizer, labels, data_args, needed)
    replay = splits["replay"].model_inputs if "replay" in splits else None

    validation = splits.get("validation")
    trainer = with_methods(RecipeTrainer)(
        model=model,
        args=training_args,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        train_dataset=continual.with_replay(
            splits["train"].model_inputs, replay, continual_args.replay_ratio, training_args.seed
        )
        if training_args.do_train
        else None,
        eval_dataset=validation.model_inputs if validation else None,
        processing_class=tokenizer,
        callbacks=training_callbacks(training_args),
        compute_metrics=ner.WordLevelNerMetrics(validation, tagger, training_args.metric)
        if validation
        else None,
        preprocess_logits_for_metrics=ner.log_probabilities,
        **students.trainer_options(distill_args, robust_args, teacher),
        **continual.trainer_options(continual_args, replay, old_label_count),
    )

    forgetting = continual.ForgettingCheck(
        splits.get("previous_test"), ner.old_task_scorer(tagger), old_label_count
    )
    forgetting.before(trainer)
    results = hp_search.train_and_save(trainer, parsed, "ner", build_model) if training_args.do_train else {}
    results.update(forgetting.after(trainer, ner.SUMMARY_KEYS))
    if training_args.do_eval:
        results.update(ner.score_split(trainer, splits["validation"], tagger))
    if training_args.do_predict:
        results.update(ner.score_split(trainer, splits["test"], tagger))
        if robust_args.test_noise:
            results.update(
                ner.score_noisy(trainer, splits["test"], tokenizer, labels, data_args, tagger, robust_args)
            )
        if teacher is not None:
            results.update(students.speed_against_teacher(trainer, teacher, splits["test"].model_inputs))
    return runtime.finish(trainer, results, ner.SUMMARY_KEYS, parsed, ner.card_fields(labels))


if __name__ == "__main__":
    run_main(main)
