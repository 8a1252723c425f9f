"""Reinforcement learning of a generative policy against reward models, through TRL's GRPO or RLOO trainer.

    accelerate launch recipes/rl.py --model_name_or_path outputs/clm --reward_model outputs/classify \
        --positive_label 1 --prompts_file prompts.txt --eval_prompts_file eval_prompts.txt
    accelerate launch recipes/rl.py --config recipes/configs/rl/sst2-positive_gpt2-small_grpo.yaml
    bash recipes/rl_pipeline.sh       # SST-2: pretrain a small LM -> train the classifier -> GRPO

A policy (a causal LM, e.g. recipes/clm.py's output) samples --num_generations completions per prompt; each
--reward_model (classify.py's output: the probability or logit of --positive_label; reward_model.py's: its
scalar; several with --reward_weights) scores them, and the policy is optimised against the scores while
--beta keeps it close to where it started (the KL to a frozen reference). Before and after training the
policy writes completions for held-out prompts: eval_reward_before/after, the KL to the reference, the
perplexity of the completions under the reference (fluency), and samples_before/after.jsonl.

On CPU put `--config_file accelerate_configs/cpu.yaml` right after `accelerate launch`. The training
arguments are TRL's GRPOConfig (RLOOConfig with --rl_algorithm rloo): every TRL flag works (--beta,
--num_generations, --max_completion_length, --temperature, --top_p, ...); `--help` lists them all.
"""

import sys
from pathlib import Path

from transformers import set_seed
from trl import GRPOTrainer, RLOOTrainer

from mossrl_hf import runtime
from mossrl_hf.cli import parse_args
from mossrl_hf.errors import run_main
from mossrl_hf.lm_configs import (
    TRAINING_ARGUMENTS,
    PolicyArguments,
    RlArguments,
    join_repeated,
    rl_algorithm_in,
)
from mossrl_hf.plots import write_rl_curves
from mossrl_hf.tasks import rl

ARGUMENT_TYPES = (PolicyArguments, RlArguments, TRAINING_ARGUMENTS["grpo"])  # --rl_algorithm rloo: RLOOConfig
TRAINERS = {"grpo": GRPOTrainer, "rloo": RLOOTrainer}

# Short completions and a learning rate for small policies; no gradient checkpointing (TRL's default), which
# only slows a model that fits; checkpoints off: the model is saved at the end.
RECIPE_DEFAULTS = runtime.recipe_defaults(
    "outputs/rl",
    eval_strategy="no",
    save_strategy="no",
    learning_rate=1e-5,
    num_generations=4,
    max_completion_length=32,
    per_device_train_batch_size=8,
    gradient_checkpointing=False,
    logging_steps=5,
)


def main(argv: list[str] | None = None) -> dict:
    argv = join_repeated(list(sys.argv[1:] if argv is None else argv))
    algorithm = rl_algorithm_in(argv)
    types = (PolicyArguments, RlArguments, TRAINING_ARGUMENTS[algorithm])
    parsed = parse_args(types, argv, RECIPE_DEFAULTS, __doc__)
    policy_args, rl_args, training_args = parsed.values
    runtime.setup_run(parsed, "rl")

    # Prompts, the policy and the reward models: all checked before any training.
    prompts = rl.read_prompts(rl_args, training_args.seed)
    rl.hold_back_end_of_text(training_args, rl_args, parsed.explicit)
    runtime.plan_stages(training_args, parsed.explicit, {"train"})
    set_seed(training_args.seed)
    model, tokenizer = rl.load_policy(policy_args, training_args.trust_remote_code)
    rewards = rl.load_reward_models(rl_args, training_args.device)
    weights = rl.reward_weights(training_args, len(rewards))
    runtime.save_run_record(training_args, parsed, rl_args.data_files)

    # The policy as it starts, on held-out prompts (it is its own reference: KL 0).
    sampling = rl.Sampling.from_args(training_args, rl_args.eval_generations)
    evaluate = dict(prompts=prompts["eval"], rewards=rewards, weights=weights, sampling=sampling)
    before, samples_before = rl.evaluate_policy(
        model.to(training_args.device), tokenizer, **evaluate, seed=training_args.seed
    )

    trainer = TRAINERS[algorithm](
        model=model,
        reward_funcs=rewards,
        args=training_args,
        train_dataset=rl.prompt_dataset(prompts["train"]),
        processing_class=tokenizer,
    )
    results = rl.named_training_figures(runtime.train_and_save(trainer))

    # The trained policy on the same prompts, against a fresh copy of the starting policy.
    reference = rl.load_policy(policy_args, training_args.trust_remote_code)[0].to(training_args.device)
    after, samples_after = rl.evaluate_policy(
        trainer.model, tokenizer, **evaluate, reference=reference, seed=training_args.seed
    )
    figures = {f"eval_{key}_before": value for key, value in before.items() if key != "kl"}
    figures |= {f"eval_{key}_after": value for key, value in after.items()}
    figures["eval_prompts"] = len(prompts["eval"])
    results.update(figures)
    runtime.save_metrics(trainer, "eval", figures)
    if trainer.is_world_process_zero():
        output = Path(training_args.output_dir)
        rl.write_samples(output / "samples_before.jsonl", samples_before)
        rl.write_samples(output / "samples_after.jsonl", samples_after)
        write_rl_curves(output, trainer.state.log_history)
    return runtime.finish(trainer, results, rl.SUMMARY_KEYS, parsed, rl.card_fields(rl_args, algorithm))


if __name__ == "__main__":
    run_main(main)
