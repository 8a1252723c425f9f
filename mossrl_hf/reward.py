"""A trained classifier (recipes/classify.py) or reward model (recipes/reward_model.py) as a reward function.

    python -m mossrl_hf.reward --model outputs/classify --input texts.txt --output scores.jsonl
    python -m mossrl_hf.reward --model outputs/classify --input texts.jsonl --text_field text --output s.jsonl

    from mossrl_hf.reward import load_reward_function
    reward = load_reward_function("outputs/classify", positive_label="positive")
    reward(["What a film!", "Dull."])  # -> [0.98, 0.03]

A classifier scores a text with the probability (or logit) of its positive label; a model with one output (a
pairwise reward model) scores it with that output. Texts are batched shortest first; scores come back in
input order. The forward pass runs in the precision the recipe evaluated in (float32, or autocast to
bfloat16 for a model trained with `--bf16`), so scores match the recipe's prediction files.
"""

import argparse
import json
from collections.abc import Sequence

import torch
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from .data.text_files import is_json_file, iter_json_records, read_text
from .errors import ConfigError, DataError, run_main
from .modeling import (
    add_autocast_argument,
    add_pickle_weights_argument,
    forward_shortest_first,
    load_trained_classifier,
    resolve_autocast,
)
from .reporting import atomic_write_lines

_POSITIVE_NAMES = ("positive", "pos", "entity", "yes", "true", "good", "chosen", "acceptable", "1")


def default_positive_label(labels: list[str]) -> str:
    """A label with a conventional positive name, else the second of two labels."""
    for name in _POSITIVE_NAMES:
        if name in labels:
            return name
    if len(labels) == 2:
        return labels[1]
    raise ConfigError(f"the model has {len(labels)} labels ({', '.join(labels)}): say which is positive")


class RewardFunction:
    """Callable: a list of texts -> a list of float scores, in input order."""

    def __init__(
        self,
        model,
        tokenizer,
        positive_label: str | None = None,
        score: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        autocast: str | None = "auto",
    ):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.autocast = resolve_autocast(model, autocast)
        self.batch_size, self.max_length = batch_size, max_length
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.single_output = model.config.num_labels == 1
        self.score = score or ("logit" if self.single_output else "probability")
        if self.score not in ("probability", "logit"):
            raise ConfigError(f"score must be 'probability' or 'logit', not {self.score!r}")
        if self.single_output:
            self.index = 0
        else:
            label = positive_label or default_positive_label(labels)
            if label not in labels:
                raise ConfigError(
                    f"positive label {label!r} is not one of the model's labels ({', '.join(labels)})"
                )
            self.index = labels.index(label)
        self.collate = DataCollatorWithPadding(tokenizer)

    def _scores(self, logits: torch.Tensor) -> list[float]:
        logits = logits.float()
        if self.score == "logit":
            return logits[:, self.index].tolist()
        if self.single_output:
            return torch.sigmoid(logits[:, 0]).tolist()
        return torch.softmax(logits, dim=-1)[:, self.index].tolist()

    def __call__(self, texts: Sequence[str]) -> list[float]:
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        return forward_shortest_first(
            self.model, encoded, self.collate, self.batch_size, self._scores, self.autocast
        )


def load_reward_function(
    model_dir: str,
    positive_label: str | None = None,
    score: str | None = None,
    batch_size: int = 32,
    max_length: int = 512,
    autocast: str | None = "auto",
    allow_pickle_weights: bool = False,
) -> RewardFunction:
    model, tokenizer = load_trained_classifier(
        model_dir, AutoModelForSequenceClassification, allow_pickle_weights
    )
    return RewardFunction(model, tokenizer, positive_label, score, batch_size, max_length, autocast)


def read_texts(path: str, text_field: str) -> list[str]:
    if is_json_file(path):
        texts = []
        for line, record in iter_json_records(path):
            if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
                raise DataError(path, line, f"expected an object with a text field {text_field!r}")
            texts.append(record[text_field])
    else:
        texts = read_text(path).splitlines()
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            raise DataError(path, number, "an empty text (blank lines are not skipped)")
    if not texts:
        raise DataError(path, 1, "no texts found (the file is empty)")
    return texts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mossrl_hf.reward",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="Directory written by classify.py or reward_model.py.")
    parser.add_argument("--input", required=True, help="One text per line, or JSON Lines with --text_field.")
    parser.add_argument(
        "--output", required=True, help="JSON Lines to write: {text, score} per input, in order."
    )
    parser.add_argument("--text_field", default="text", help="The text's key in JSON Lines input.")
    parser.add_argument("--positive_label", default=None, help="Classifier label whose score is the reward.")
    parser.add_argument(
        "--score",
        choices=("probability", "logit"),
        default=None,
        help="Default: probability for classifiers, the raw output for one-output reward models.",
    )
    parser.add_argument("--batch_size", type=int, default=32, help="Texts per forward pass (default 32).")
    parser.add_argument(
        "--max_length", type=int, default=512, help="Longer texts are truncated (default 512 tokens)."
    )
    add_autocast_argument(parser)
    add_pickle_weights_argument(parser)
    args = parser.parse_args(argv)
    texts = read_texts(args.input, args.text_field)
    reward = load_reward_function(
        args.model,
        args.positive_label,
        args.score,
        args.batch_size,
        args.max_length,
        args.autocast,
        args.allow_pickle_weights,
    )
    scores = reward(texts)
    lines = (
        json.dumps({"text": t, "score": s}, ensure_ascii=False) + "\n"
        for t, s in zip(texts, scores, strict=True)
    )
    atomic_write_lines(args.output, lines)


if __name__ == "__main__":
    run_main(main)
