"""Masked-LM domain pretraining: an encoder trained further on unlabeled text of the target domain, before
fine-tuning it with ner.py or classify.py.

    accelerate launch recipes/mlm.py --train_file domain.txt                      # the offline MiniLM
    accelerate launch recipes/mlm.py --train_file train.txt --input_format conll --whole_word_masking true
    accelerate launch recipes/mlm.py --config recipes/configs/mlm/conll2003_minilm.yaml
    accelerate launch recipes/ner.py --model_name_or_path outputs/mlm ...          # then fine-tune it

Texts (one a line, .txt or .txt.gz; a JSON/CSV column; or CoNLL files' words) are packed into sequences of
--max_seq_length tokens, and --mlm_probability of their tokens (or whole words) are masked for the model to
predict (transformers' DataCollatorForLanguageModeling). The held-out text (--validation_file, else
--validation_split_percentage of the training text) is masked once: eval_perplexity_before is the starting
model on it, eval_perplexity the trained one, on the same masks. The output directory is a model that ner.py
and classify.py take as --model_name_or_path (they drop the masked-LM head).

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch`. Every
transformers.TrainingArguments flag works; `--help` lists them all.
"""

from transformers import Trainer, set_seed

from mossrl_hf import runtime
from mossrl_hf.cli import parse_args
from mossrl_hf.configs import RecipeTrainingArguments
from mossrl_hf.errors import run_main
from mossrl_hf.mlm_configs import MaskedLmDataArguments, MaskedLmModelArguments
from mossrl_hf.tasks import clm, mlm
from mossrl_hf.training import training_callbacks

ARGUMENT_TYPES = (MaskedLmModelArguments, MaskedLmDataArguments, RecipeTrainingArguments)

# The collator reads the special-token mask and (whole-word masking) the word offsets, which the model does
# not take: Trainer must not drop them.
RECIPE_DEFAULTS = runtime.recipe_defaults("outputs/mlm", learning_rate=5e-5, remove_unused_columns=False)


def main(argv: list[str] | None = None) -> dict:
    parsed = parse_args(ARGUMENT_TYPES, argv, RECIPE_DEFAULTS, __doc__)
    model_args, data_args, training_args = parsed.values
    runtime.setup_run(parsed, "masked_lm")

    # Data: the texts of each split (a validation share held out of the training file if none is given).
    texts = clm.read_splits(data_args, training_args.seed, lambda path: mlm.read_texts(data_args, path))
    runtime.plan_stages(training_args, parsed.explicit, set(texts))
    set_seed(training_args.seed)
    model, tokenizer = mlm.load_masked_lm(model_args, data_args.whole_word_masking)  # checked: no output yet
    runtime.save_run_record(training_args, parsed, data_args.data_files)

    # The sequences, and the validation set masked once.
    masking = mlm.masking_collator(tokenizer, data_args, training_args.seed)
    data = {
        split: mlm.sequences(
            split_texts,
            tokenizer,
            data_args.max_seq_length,
            data_args.pack_texts,
            data_args.whole_word_masking,
        )
        for split, split_texts in texts.items()
    }
    validation = mlm.mask_once(
        data["validation"], mlm.masking_collator(tokenizer, data_args, training_args.seed)
    )

    trainer = Trainer(
        model=model,
        args=training_args,
        data_collator=mlm.MaskedLmBatches(masking),
        train_dataset=data["train"] if training_args.do_train else None,
        eval_dataset=validation,
        processing_class=tokenizer,
        callbacks=training_callbacks(training_args),
    )

    results = {}
    if training_args.do_eval and training_args.do_train:  # the starting model, on the same masks
        results.update(mlm.before_figures(trainer.evaluate(metric_key_prefix="eval")))
    if training_args.do_train:
        results.update(runtime.train_and_save(trainer))
    if training_args.do_eval:
        metrics = clm.with_perplexity(trainer.evaluate())
        metrics |= {key: value for key, value in results.items() if key.startswith("eval_")}  # before
        trainer.log_metrics("eval", metrics)
        runtime.save_metrics(trainer, "eval", metrics)
        results.update(metrics)
    return runtime.finish(trainer, results, mlm.SUMMARY_KEYS, parsed, mlm.card_fields(data_args))


if __name__ == "__main__":
    run_main(main)
