"""Pairwise reward-model glue: features that keep the response when cutting, the collator, the metrics."""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import torch
from transformers import Trainer

from .. import runtime
from ..batching import pad_token_ids
from ..data.ner_features import SpecialTokens
from ..data.ordering import shortest_first, to_input_order
from ..data.preference_data import PreferencePairs
from ..metrics import bootstrap, modules
from ..reporting import atomic_write_lines

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("accuracy", "longer_wins_accuracy", "mean_margin", "reward_mean", "reward_std")


def fit_pair_side(prompt: list[int], response: list[int], budget: int) -> tuple[list[int], bool]:
    """Prompt + response in `budget` tokens, cutting the prompt from the left; the response keeps its end
    (only a response longer than the whole budget loses its beginning). Returns (ids, whether it was cut)."""
    if len(prompt) + len(response) <= budget:
        return prompt + response, False
    if len(response) >= budget:
        return response[len(response) - budget :], True
    return prompt[len(prompt) - (budget - len(response)) :] + response, True


@dataclass
class PairSplit:
    name: str
    pairs: PreferencePairs
    features: datasets.Dataset  # evaluation splits: shortest first; `order` maps rows to input rows
    truncated: int
    order: np.ndarray


def build_pair_features(
    pairs: PreferencePairs, tokenizer, max_length: int, name: str, by_length: bool = True
) -> PairSplit:
    special = SpecialTokens.of(tokenizer)
    budget = max_length - len(special.prefix) - len(special.suffix)

    def ids(texts: list[str]) -> list[list[int]]:
        return tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]

    prompts, chosen, rejected = ids(pairs.prompts), ids(pairs.chosen), ids(pairs.rejected)
    columns: dict[str, list] = {"chosen_input_ids": [], "rejected_input_ids": []}
    truncated = 0
    for prompt, chosen_ids, rejected_ids in zip(prompts, chosen, rejected, strict=True):
        chosen_fit, chosen_cut = fit_pair_side(prompt, chosen_ids, budget)
        rejected_fit, rejected_cut = fit_pair_side(prompt, rejected_ids, budget)
        truncated += chosen_cut or rejected_cut
        columns["chosen_input_ids"].append(special.prefix + chosen_fit + special.suffix)
        columns["rejected_input_ids"].append(special.prefix + rejected_fit + special.suffix)
    columns["margin"] = pairs.margins if pairs.margins is not None else [0.0] * len(pairs)
    if truncated:
        logger.warning(
            "%s: %d of %d pairs were longer than --max_seq_length %d: prompts cut from the left",
            name,
            truncated,
            len(pairs),
            max_length,
        )
    features, order = shortest_first(
        datasets.Dataset.from_dict(columns),
        by_length and name != "train",
        columns=("chosen_input_ids", "rejected_input_ids"),
    )
    return PairSplit(name, pairs, features, truncated, order)


class PairCollator:
    """Pads chosen and rejected sequences into one batch: chosen rows first, then rejected rows."""

    def __init__(self, tokenizer):
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        sequences = [row["chosen_input_ids"] for row in rows] + [row["rejected_input_ids"] for row in rows]
        margin = torch.tensor([row["margin"] for row in rows], dtype=torch.float)
        return {**pad_token_ids(sequences, self.pad_id), "margin": margin}


def longer_wins_accuracy(pairs: PreferencePairs) -> float:
    """The "longer response wins" rule: the fraction of pairs whose chosen response is longer (ties: half)."""
    score = sum(
        1.0 if len(c) > len(r) else 0.5 if len(c) == len(r) else 0.0
        for c, r in zip(pairs.chosen, pairs.rejected, strict=True)
    )
    return score / len(pairs)


def pairwise_metrics(rewards: np.ndarray, metric: str | None = None) -> dict[str, float]:
    """`rewards`: one row per pair, (chosen, rejected). Accuracy and mean margin come from
    metrics/pairwise_preference.py (or the --metric module, given 1 per pair the model ranks right)."""
    chosen, rejected = rewards[:, 0], rewards[:, 1]
    module = modules.load_metric(metric, "reward_model")
    margins = chosen - rejected
    predictions = margins if modules.is_own(module) else (margins > 0).astype(int)
    return {
        **modules.score(module, predictions, np.ones(len(margins), dtype=int)),
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std()),
        "chosen_reward_mean": float(chosen.mean()),
        "rejected_reward_mean": float(rejected.mean()),
    }


class PairwiseMetrics:
    def __init__(self, metric: str | None = None):
        self.metric = metric
        self.last_rewards: np.ndarray | None = None

    def __call__(self, eval_prediction) -> dict[str, float]:
        self.last_rewards = np.asarray(eval_prediction.predictions, dtype=np.float64)
        return pairwise_metrics(self.last_rewards, self.metric)

    def intervals(self, samples: int, seed: int) -> dict[str, list[float]]:
        """95% intervals of accuracy and mean margin, resampling pairs (the task's own module only)."""
        if self.metric is not None:
            return {}
        counts = bootstrap.pairwise_counts(self.last_rewards[:, 0] - self.last_rewards[:, 1])
        return bootstrap.intervals(counts, bootstrap.PAIRWISE_STATISTICS, samples, seed)


def score_split(trainer: Trainer, split: PairSplit) -> dict:
    """Evaluate (validation) or predict (test) one split, beside the length rule; for test, the rewards."""
    metric = PairwiseMetrics(trainer.args.metric)
    extra = {"longer_wins_accuracy": longer_wins_accuracy(split.pairs), "truncated_pairs": split.truncated}
    prefix, metrics = runtime.score_split(trainer, split.name, split.features, metric, extra)
    if prefix == "test" and trainer.is_world_process_zero():
        lines = [
            json.dumps(
                {
                    "line": line,
                    "chosen_reward": round(float(c), 6),  # beyond 6 decimals: batching noise
                    "rejected_reward": round(float(r), 6),
                    "correct": bool(c > r),
                }
            )
            + "\n"
            for line, (c, r) in zip(
                split.pairs.lines, to_input_order(metric.last_rewards, split.order), strict=True
            )
        ]
        atomic_write_lines(Path(trainer.args.output_dir) / "test_predictions.jsonl", lines)
    return metrics


def card_fields(labels: list[str], held_out: dict | None) -> dict:
    """What the model card says about this task beyond the run's arguments."""
    notes = []
    if held_out:
        notes.append(
            f"{held_out['percentage']}% of the pairs of `{Path(held_out['source']).name}` were held out "
            f"(seed {held_out['seed']}, {len(held_out['held_out_lines'])} pairs) and used as "
            f"{' and '.join(held_out['used_as'])} split."
        )
    return {"task": "reward_model", "labels": labels, "data_notes": notes}
