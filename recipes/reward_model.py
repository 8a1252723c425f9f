"""Pairwise preference reward model (as in RLHF): a one-output sequence classifier trained with the ranking
loss -log sigmoid(r_chosen - r_rejected).

    accelerate launch recipes/reward_model.py          # bundled preference sample, offline MiniLM
    accelerate launch recipes/reward_model.py \
        --config recipes/configs/reward_model/hh-harmless_minilm_full.yaml

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch` (without an accelerate
config, the run gets one thread), on one GPU `--config_file accelerate_configs/single_gpu.yaml`.

The saved model loads as AutoModelForSequenceClassification (num_labels=1), and scores texts through
mossrl_hf.reward. Every transformers.TrainingArguments flag works; `--help` lists them all.
"""

from pathlib import Path

from transformers import AutoModelForSequenceClassification, set_seed

from mossrl_hf import hp_search, modeling, reporting, runtime
from mossrl_hf.adapters import apply_peft
from mossrl_hf.cli import parse_args
from mossrl_hf.configs import ModelArguments, PeftArguments, PreferenceDataArguments, RecipeTrainingArguments
from mossrl_hf.data.preference_data import load_preference_data
from mossrl_hf.data.samples import use_sample_if_no_data
from mossrl_hf.errors import run_main
from mossrl_hf.tasks import preference
from mossrl_hf.training import PairwiseRewardTrainer, training_callbacks

ARGUMENT_TYPES = (ModelArguments, PreferenceDataArguments, PeftArguments, RecipeTrainingArguments)
REWARD_LABELS = ["reward"]  # one output: the reward

RECIPE_DEFAULTS = runtime.recipe_defaults("outputs/reward_model", per_device_eval_batch_size=32)


def main(argv: list[str] | None = None) -> dict:
    parsed = parse_args(ARGUMENT_TYPES, argv, RECIPE_DEFAULTS, __doc__)
    model_args, data_args, peft_args, training_args = parsed.values
    runtime.setup_run(parsed, "reward_model")

    # Data: pairs per split; a held-out split drawn from the training file is recorded.
    use_sample_if_no_data(data_args, "preference")
    data, held_out = load_preference_data(data_args)
    runtime.plan_stages(training_args, parsed.explicit, set(data))
    runtime.save_run_record(training_args, parsed, data_args.data_files)
    if held_out and training_args.process_index == 0:
        reporting.write_json(Path(training_args.output_dir) / "held_out_split.json", held_out)

    # Model (+ adapter or frozen parts) and features.
    def build_model(peft: PeftArguments):  # also each hyperparameter-search trial's model_init
        model = modeling.load_classifier(
            model_args, REWARD_LABELS, AutoModelForSequenceClassification, tokenizer
        )
        return apply_peft(model, peft, "SEQ_CLS", modeling.model_path(model_args))

    set_seed(training_args.seed)
    tokenizer = modeling.load_tokenizer(model_args)
    model = build_model(peft_args)
    needed = runtime.needed_splits(training_args)
    splits = {
        name: preference.build_pair_features(
            pairs, tokenizer, data_args.max_seq_length, name, data_args.eval_by_length
        )
        for name, pairs in data.items()
        if name in needed
    }

    trainer = PairwiseRewardTrainer(
        model=model,
        args=training_args,
        data_collator=preference.PairCollator(tokenizer),
        train_dataset=splits["train"].features if training_args.do_train else None,
        eval_dataset=splits["validation"].features if "validation" in splits else None,
        processing_class=tokenizer,
        callbacks=training_callbacks(training_args),
        compute_metrics=preference.PairwiseMetrics(training_args.metric),
        center_rewards_coefficient=data_args.center_rewards_coefficient,
    )

    results = {}
    if training_args.do_train:
        results = hp_search.train_and_save(trainer, parsed, "reward_model", build_model) | {
            "train_truncated_pairs": splits["train"].truncated
        }
    for split_name, wanted in (("validation", training_args.do_eval), ("test", training_args.do_predict)):
        if wanted:
            results.update(preference.score_split(trainer, splits[split_name]))
    return runtime.finish(
        trainer, results, preference.SUMMARY_KEYS, parsed, preference.card_fields(REWARD_LABELS, held_out)
    )


if __name__ == "__main__":
    run_main(main)
