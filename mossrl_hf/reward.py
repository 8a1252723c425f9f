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
import sys
from collections.abc import Iterator, Sequence

import torch
from transformers import AutoModelForSequenceClassification

from .batching import TokenIdPadder, forward_shortest_first
from .data.text_files import is_json_file, iter_json_lines, iter_lines
from .errors import ConfigError, DataError, run_main
from .inference_backends import add_backend_arguments, check_backend, prepare_for_prediction
from .modeling import (
    add_autocast_argument,
    add_pickle_weights_argument,
    load_trained_classifier,
    resolve_autocast,
)
from .streaming import add_stream_arguments, stream_options, stream_predictions

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
        self.collate = TokenIdPadder(tokenizer)

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
    backend: str = "torch",
    quantize: str = "none",
) -> RewardFunction:
    """`backend` ("torch", "onnx" or "openvino") and `quantize` ("none" or "int8"): see
    `mossrl_hf.inference_backends`."""
    check_backend(backend, quantize, autocast)
    model, tokenizer = load_trained_classifier(
        model_dir, AutoModelForSequenceClassification, allow_pickle_weights
    )
    model, autocast = prepare_for_prediction(model, tokenizer, backend, quantize, autocast)
    return RewardFunction(model, tokenizer, positive_label, score, batch_size, max_length, autocast)


class ScoredRecords:
    """Texts -> `{"text", "score"}` records: what the command writes, built once per worker."""

    def __init__(self, **loader_kwargs):
        self.reward = load_reward_function(**loader_kwargs)

    def __call__(self, texts: list[str]) -> list[dict]:
        return [{"text": t, "score": s} for t, s in zip(texts, self.reward(texts), strict=True)]


def iter_texts(path: str, text_field: str) -> Iterator[tuple[str, str]]:
    """("PATH:LINE", text) of each input, read lazily: one text a line, or JSON Lines with `text_field`."""
    count = 0
    lines = iter_json_lines(path) if is_json_file(path) else iter_lines(path)
    for number, item in lines:
        if is_json_file(path):
            if not isinstance(item, dict) or not isinstance(item.get(text_field), str):
                raise DataError(path, number, f"expected an object with a text field {text_field!r}")
            item = item[text_field]
        if not item.strip():
            raise DataError(path, number, "an empty text (blank lines are not skipped)")
        count += 1
        yield f"{path}:{number}", item
    if not count:
        raise DataError(path, 1, "no texts found (the file is empty)")


def read_texts(path: str, text_field: str) -> list[str]:
    return [text for _, text in iter_texts(path, text_field)]


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
    add_backend_arguments(parser)
    add_pickle_weights_argument(parser)
    add_stream_arguments(parser)
    args = parser.parse_args(argv)
    options = stream_options(args)
    check_backend(args.backend, args.quantize, args.autocast)
    loader_kwargs = {
        "model_dir": args.model,
        "positive_label": args.positive_label,
        "score": args.score,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "autocast": args.autocast,
        "allow_pickle_weights": args.allow_pickle_weights,
        "backend": args.backend,
        "quantize": args.quantize,
    }
    texts = iter_texts(args.input, args.text_field)
    written, resumed = stream_predictions(
        texts, ScoredRecords, loader_kwargs, args.output, _same_text, options
    )
    print(f"{written + resumed} texts scored ({resumed} by an earlier run) -> {args.output}", file=sys.stderr)


def _same_text(record: dict, text: str) -> bool:
    return record.get("text") == text


if __name__ == "__main__":
    run_main(main)
