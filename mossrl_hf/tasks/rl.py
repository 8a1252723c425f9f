"""Reinforcement learning of a generative policy against reward models (recipes/rl.py): the prompts, the
reward models as TRL reward functions, and the evaluation before and after training."""

import json
import logging
from dataclasses import dataclass

import datasets
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..data.plain_text import hold_out, read_plain_texts
from ..errors import ConfigError
from ..modeling import load_weights
from ..reporting import atomic_write_lines
from ..reward import load_reward_function
from .clm import check_causal_lm

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("reward_before", "reward_after", "kl_after", "perplexity_before", "perplexity_after")
EVAL_HOLD_OUT_PERCENTAGE = 10


def read_prompts(rl_args, seed: int) -> dict[str, list[str]]:
    """Training and held-out prompts; without --eval_prompts_file, 10% of the training prompts."""
    train = read_plain_texts(rl_args.prompts_file, rl_args.prompt_column, "prompts")
    if rl_args.eval_prompts_file:
        held_out = read_plain_texts(rl_args.eval_prompts_file, rl_args.prompt_column, "prompts")
    elif len(train) < 2:
        raise ConfigError(f"{rl_args.prompts_file}: one prompt only; give --eval_prompts_file to evaluate on")
    else:
        train, held_out = hold_out(train, EVAL_HOLD_OUT_PERCENTAGE, seed)
    return {"train": train, "eval": held_out}


def load_policy(policy_args, trust_remote_code: bool = False):
    """The policy and its tokenizer (left padding: generation continues the prompt's last token)."""
    path = policy_args.model_name_or_path
    options = {"revision": policy_args.model_revision, "trust_remote_code": trust_remote_code}
    check_causal_lm(path, options)
    model = load_weights(AutoModelForCausalLM, path, policy_args.allow_pickle_weights, **options)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left", truncation_side="left", **options)
    if tokenizer.eos_token is None:
        raise ConfigError(f"{path}: the tokenizer has no end-of-text token, so completions cannot end")
    return model, tokenizer


class RewardModel:
    """One reward model as a TRL reward function: (prompts, completions) -> one float each. It reads the
    prompt and the completion together (a review is judged whole) or the completion alone."""

    def __init__(self, function, name: str, reward_input: str):
        self.function, self.__name__, self.reward_input = function, name, reward_input

    def texts(self, prompts, completions) -> list[str]:
        if self.reward_input == "completion":
            return list(completions)
        return [prompt + completion for prompt, completion in zip(prompts, completions, strict=True)]

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        return self.function(self.texts(prompts, completions))


def load_reward_models(rl_args, device) -> list[RewardModel]:
    """Every --reward_model, checked (labels, files) before any training; on the policy's device."""
    rewards = []
    for index, path in enumerate(rl_args.reward_model):
        function = load_reward_function(path, rl_args.label_for(index), rl_args.reward_score)
        function.model.to(device)
        name = f"reward_{index}" if len(rl_args.reward_model) > 1 else "reward"
        rewards.append(RewardModel(function, name, rl_args.reward_input))
    return rewards


def reward_weights(args, count: int) -> list[float]:
    weights = args.reward_weights or [1.0] * count
    if len(weights) != count:
        raise ConfigError(f"--reward_weights: {len(weights)} weights for {count} reward models")
    return list(weights)


def prompt_dataset(prompts: list[str]) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"prompt": prompts})


def hold_back_end_of_text(training_args, rl_args, explicit: set[str]) -> None:
    """--min_completion_length as TRL's generation setting `min_new_tokens`. A --max_completion_length
    below it grows to it when it is the default; the user's own is refused."""
    minimum, maximum = rl_args.min_completion_length, training_args.max_completion_length
    if not minimum:
        return
    if maximum is not None and minimum > maximum:
        if "max_completion_length" in explicit:
            raise ConfigError(f"--min_completion_length {minimum} is above --max_completion_length {maximum}")
        training_args.max_completion_length = minimum
    training_args.generation_kwargs = {**(training_args.generation_kwargs or {}), "min_new_tokens": minimum}


@dataclass
class Sampling:
    """How completions are sampled: the training settings, so that evaluation sees what training saw."""

    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int | None
    generations: int
    min_new_tokens: int = 0
    batch_size: int = 16

    @classmethod
    def from_args(cls, args, generations: int) -> "Sampling":
        top_k = args.top_k or None  # TRL's 0 means no top-k
        minimum = (args.generation_kwargs or {}).get("min_new_tokens", 0)
        return cls(args.max_completion_length, args.temperature, args.top_p, top_k, generations, minimum)


@torch.no_grad()
def sample(
    model, tokenizer, prompts: list[str], sampling: Sampling
) -> list[tuple[str, list[int], list[int]]]:
    """(prompt, prompt ids, completion ids up to and including the end-of-text token) per completion."""
    model.eval()
    device = next(model.parameters()).device
    samples = []
    for begin in range(0, len(prompts), sampling.batch_size):
        batch = prompts[begin : begin + sampling.batch_size]
        encoded = tokenizer(batch, return_tensors="pt", padding=True).to(device)
        output = model.generate(
            **encoded,
            do_sample=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            max_new_tokens=sampling.max_new_tokens,
            min_new_tokens=sampling.min_new_tokens,
            num_return_sequences=sampling.generations,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        width = encoded["input_ids"].shape[1]
        for row, ids in enumerate(output.tolist()):
            source = row // sampling.generations
            prompt_ids = [
                t
                for t, m in zip(
                    encoded["input_ids"][source].tolist(),
                    encoded["attention_mask"][source].tolist(),
                    strict=True,
                )
                if m
            ]
            completion = ids[width:]
            if tokenizer.eos_token_id in completion:
                completion = completion[: completion.index(tokenizer.eos_token_id) + 1]
            samples.append((batch[source], prompt_ids, completion))
    return samples


@torch.no_grad()
def completion_logprobs(model, samples, temperature: float = 1.0, batch_size: int = 16) -> list[torch.Tensor]:
    """Per-token log-probabilities of each completion given its prompt, under `model` with its logits
    divided by `temperature` (1: the model's own distribution)."""
    device = next(model.parameters()).device
    model.eval()
    result = []
    for begin in range(0, len(samples), batch_size):
        batch = samples[begin : begin + batch_size]
        sequences = [prompt_ids + completion for _, prompt_ids, completion in batch]
        width = max(len(sequence) for sequence in sequences)
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        mask = torch.zeros(len(batch), width, dtype=torch.long)
        for row, sequence in enumerate(sequences):  # right padding: positions stay as in training
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float() / temperature
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None].to(device))[..., 0]
        for row, (_, prompt_ids, completion) in enumerate(batch):
            start = len(prompt_ids) - 1  # the logit at position i predicts token i + 1
            result.append(logprobs[row, start : start + len(completion)].cpu())
    return result


def evaluate_policy(model, tokenizer, prompts, rewards, weights, sampling, reference=None, seed: int = 0):
    """Sample completions for the held-out prompts and measure them: the mean (weighted) reward, the KL of
    the policy to the reference (the mean over completions of sum_t log p(y_t) - log p_ref(y_t), a Monte
    Carlo estimate in nats per completion, both at the sampling temperature, as TRL's `beta` penalises it),
    the perplexity of the completions under the reference at temperature 1 (fluency: the LM's own
    probability; reward hacking with gibberish shows up here) and their mean length. Without a reference the
    policy is its own (before training: KL 0)."""
    torch.manual_seed(seed)  # the same sampling noise before and after training
    samples = sample(model, tokenizer, prompts, sampling)
    completions = [tokenizer.decode(completion, skip_special_tokens=True) for _, _, completion in samples]
    sample_prompts = [prompt for prompt, _, _ in samples]
    per_model = [reward(sample_prompts, completions) for reward in rewards]
    combined = [
        sum(w * scores[i] for w, scores in zip(weights, per_model, strict=True)) for i in range(len(samples))
    ]
    reference = reference if reference is not None else model
    ref = completion_logprobs(reference, samples)
    kl = 0.0
    if reference is not model:
        policy = completion_logprobs(model, samples, sampling.temperature)
        ref_sampled = completion_logprobs(reference, samples, sampling.temperature)
        kl = sum((p - r).sum().item() for p, r in zip(policy, ref_sampled, strict=True)) / len(samples)
    tokens = sum(len(lp) for lp in ref) or 1
    figures = {
        "reward": sum(combined) / len(combined),
        "kl": kl,
        "perplexity": float(torch.exp(-sum(r.sum() for r in ref) / tokens)),
        "completion_length": sum(len(c) for _, _, c in samples) / len(samples),
    }
    records = [
        {"prompt": prompt, "completion": completion, "reward": round(score, 6)}
        | ({"rewards": [round(s[i], 6) for s in per_model]} if len(rewards) > 1 else {})
        for i, (prompt, completion, score) in enumerate(
            zip(sample_prompts, completions, combined, strict=True)
        )
    ]
    return figures, records


def named_training_figures(metrics: dict) -> dict:
    """TRL's last-step figures (reward, kl, entropy, completions/...) prefixed `train_` in all_results, so
    that they do not read as figures of the whole run or of the evaluation."""
    kept = ("epoch", "total_flos")
    return {
        key if key.startswith("train_") or key in kept else f"train_{key}": v for key, v in metrics.items()
    }


def write_samples(path, records: list[dict]) -> None:
    atomic_write_lines(path, (json.dumps(record, ensure_ascii=False) + "\n" for record in records))


def card_fields(rl_args, algorithm: str) -> dict:
    names = ", ".join(f"`{path.rstrip('/').split('/')[-1]}`" for path in rl_args.reward_model)
    detail = (
        f"Trained with TRL's {algorithm.upper()} against the reward model(s) {names}; the evaluation "
        "samples completions for held-out prompts before and after training (samples_before.jsonl, "
        "samples_after.jsonl)."
    )
    return {"task": "rl", "labels": [], "task_detail": detail}
