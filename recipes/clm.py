"""Causal language modelling: pretraining, or continued pretraining, on plain text packed into blocks.

    accelerate launch recipes/clm.py --train_file texts.txt              # a new small GPT-2-style model
    accelerate launch recipes/clm.py --config recipes/configs/clm/sst2_gpt2-small_scratch.yaml
    accelerate launch recipes/clm.py --model_name_or_path DIR --train_file texts.txt.gz   # continue

Without --model_name_or_path a GPT-2-style model is built from --model_config (a preset, tiny / small /
base, and/or GPT2Config values) with a byte-level BPE tokenizer trained on the training text, so an offline
user has a policy to start reinforcement learning from (recipes/rl.py). The saved model loads with
`pipeline("text-generation")`. Reports eval_perplexity.

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch`. Every
transformers.TrainingArguments flag works; `--help` lists them all.
"""

from transformers import DataCollatorForLanguageModeling, Trainer, set_seed

from mossrl_hf import runtime
from mossrl_hf.cli import parse_args
from mossrl_hf.configs import RecipeTrainingArguments
from mossrl_hf.errors import run_main
from mossrl_hf.lm_configs import LanguageModelArguments, TextDataArguments
from mossrl_hf.tasks import clm
from mossrl_hf.training import training_callbacks

ARGUMENT_TYPES = (LanguageModelArguments, TextDataArguments, RecipeTrainingArguments)

RECIPE_DEFAULTS = runtime.recipe_defaults("outputs/clm", learning_rate=1e-3, warmup_steps=0.05)


def main(argv: list[str] | None = None) -> dict:
    parsed = parse_args(ARGUMENT_TYPES, argv, RECIPE_DEFAULTS, __doc__)
    model_args, data_args, training_args = parsed.values
    runtime.setup_run(parsed, "causal_lm")

    # Data: the texts of each split (a validation share held out of the training file if none is given).
    texts = clm.read_splits(data_args, training_args.seed)
    runtime.plan_stages(training_args, parsed.explicit, set(texts))
    runtime.save_run_record(training_args, parsed, data_args.data_files)

    # Model and tokenizer: loaded, or built new (the tokenizer trained on the training text).
    set_seed(training_args.seed)
    model, tokenizer = clm.load_model_and_tokenizer(
        model_args, data_args.block_size, texts["train"], training_args
    )
    blocks = {
        split: clm.pack(split_texts, tokenizer, data_args.block_size, split)
        for split, split_texts in texts.items()
    }

    trainer = Trainer(
        model=model,
        args=training_args,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        train_dataset=blocks["train"] if training_args.do_train else None,
        eval_dataset=blocks["validation"],
        processing_class=tokenizer,
        callbacks=training_callbacks(training_args),
    )

    results = runtime.train_and_save(trainer) if training_args.do_train else {}
    if training_args.do_eval:
        metrics = clm.with_perplexity(trainer.evaluate())
        trainer.log_metrics("eval", metrics)
        runtime.save_metrics(trainer, "eval", metrics)
        results.update(metrics)
    card = clm.card_fields(data_args, from_scratch=model_args.model_name_or_path is None)
    return runtime.finish(trainer, results, clm.SUMMARY_KEYS, parsed, card)


if __name__ == "__main__":
    run_main(main)
