"""Tag new text with a trained NER model: a Python API and a command.

    python -m mossrl_hf.predict --model outputs/ner --input sentences.txt --output tags.jsonl
    python -m mossrl_hf.predict --model outputs/ner --input test.txt --input_format conll --output tags.jsonl

    from mossrl_hf.predict import load_tagger
    tag = load_tagger("outputs/ner")
    tag(["Angela Merkel visited Paris .", ["EU", "rejects", "German", "call"]])

Each result is `{"words": [...], "tags": [...], "entities": [{"type", "start", "end", "text"}]}` with word
indices (`end` exclusive), one per input sentence, in input order. Long sentences are split into windows
and put back together word by word, exactly as in the recipe's evaluation, in the precision the recipe
evaluated in (float32, or autocast to bfloat16 for a model trained with `--bf16`; `--autocast` overrides).
"""

import argparse
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from seqeval.metrics.sequence_labeling import get_entities

from .batching import TokenIdPadder, forward_shortest_first
from .configs import resolve_stride
from .data.conll import iter_conll
from .data.decoding import WordTagger
from .data.ner_features import WordPieces, ner_feature_columns
from .data.sentences import SentenceRecords
from .data.tagging import IOB2
from .data.text_files import iter_lines
from .errors import DataError, run_main
from .inference_backends import add_backend_arguments, check_backend, prepare_for_prediction
from .modeling import (
    add_autocast_argument,
    add_pickle_weights_argument,
    load_trained_classifier,
    resolve_autocast,
)
from .streaming import add_stream_arguments, stream_options, stream_predictions


def entities_of(words: Sequence[str], tags: Sequence[str]) -> list[dict]:
    return [
        {"type": entity_type, "start": start, "end": end + 1, "text": " ".join(words[start : end + 1])}
        for entity_type, start, end in get_entities(list(tags))
    ]


class Tagger:
    """Callable: a list of sentences (strings split on white space, or lists of words) -> records."""

    def __init__(
        self,
        model,
        tokenizer,
        max_length: int = 128,
        stride: int | None = None,
        batch_size: int = 64,
        decoding: str | None = None,
        autocast: str | None = "auto",
    ):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.autocast = resolve_autocast(model, autocast)
        self.max_length, self.batch_size = max_length, batch_size
        self.stride = resolve_stride(stride, max_length)
        config = model.config
        labels = tuple(config.id2label[index] for index in range(config.num_labels))
        # Decode as the recipe did: the scheme and decoding it stored in the config.
        scheme = getattr(config, "ner_tag_scheme", IOB2)
        self.word_tagger = WordTagger(
            labels, scheme, decoding or getattr(config, "ner_decoding", "constrained")
        )
        self.word_pieces, self.collate = WordPieces(tokenizer), TokenIdPadder(tokenizer)

    def predict_scores(self, features) -> list[np.ndarray]:
        """Label log-probabilities per window token, in feature order."""
        return forward_shortest_first(
            self.model,
            features["input_ids"],
            self.collate,
            self.batch_size,
            lambda logits: torch.log_softmax(logits.float(), dim=-1).cpu().numpy(),
            self.autocast,
        )

    def __call__(self, sentences: Sequence[str | Sequence[str]]) -> list[dict]:
        records = SentenceRecords(source="<input>")
        for sentence in sentences:
            words = sentence.split() if isinstance(sentence, str) else list(sentence)
            records.add(words, ["O"] * len(words), None)
        if not records:
            return []
        features = ner_feature_columns(records, self.word_pieces, self.max_length, self.stride)
        predictions = self.predict_scores(features)
        lengths = [len(words) for words in records.words]
        tags = self.word_tagger.tags(features["sentence"], features["word_index"], predictions, lengths)
        return [
            {"words": words, "tags": sentence_tags, "entities": entities_of(words, sentence_tags)}
            for words, sentence_tags in zip(records.words, tags, strict=True)
        ]


def load_tagger(
    model_dir: str,
    max_length: int = 128,
    stride: int | None = None,
    batch_size: int = 64,
    autocast: str | None = "auto",
    allow_pickle_weights: bool = False,
    backend: str = "torch",
    quantize: str = "none",
) -> Tagger:
    """A `Tagger` for a model saved by recipes/ner.py (a full model or a LoRA adapter). `autocast`: "auto"
    (the recipe's evaluation precision), "none" (float32), "bfloat16" or "float16". `backend` ("torch",
    "onnx" or "openvino") and `quantize` ("none" or "int8"): see `mossrl_hf.inference_backends`; OpenVINO
    runs in the autocast's precision, a quantized or ONNX Runtime model in its own."""
    check_backend(backend, quantize, autocast)
    model, tokenizer = load_trained_classifier(model_dir, allow_pickle_weights=allow_pickle_weights)
    model, autocast = prepare_for_prediction(model, tokenizer, backend, quantize, autocast)
    return Tagger(model, tokenizer, max_length, stride, batch_size, autocast=autocast)


def iter_sentences(path: str, input_format: str) -> Iterator[tuple[str, list[str]]]:
    """("PATH:LINE", words) of each sentence, read lazily: one sentence a line, or CoNLL columns."""
    count = 0
    if input_format == "conll":
        try:
            for sentence in iter_conll(path):
                count += 1
                yield f"{path}:{sentence.line}", sentence.words
        except DataError as error:
            hint = " (one sentence per line? use --input_format text)"
            raise DataError(error.path, error.line, error.message + hint) from None
    else:
        for number, line in iter_lines(path):
            words = line.split()
            if not words:
                raise DataError(
                    path, number, "an empty line: give one sentence per line (blank lines are not skipped)"
                )
            count += 1
            yield f"{path}:{number}", words
    if not count:
        raise DataError(path, 1, "no sentences found (the file is empty)")


def read_sentences(path: str, input_format: str) -> list[list[str]]:
    return [words for _, words in iter_sentences(path, input_format)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mossrl_hf.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="Directory written by recipes/ner.py.")
    parser.add_argument("--input", required=True, help="Text file: one sentence per line, or CoNLL columns.")
    parser.add_argument("--output", required=True, help="JSON Lines file to write, one record per sentence.")
    parser.add_argument("--input_format", choices=("text", "conll"), default="text")
    parser.add_argument(
        "--max_seq_length", type=int, default=128, help="Window length in sub-word tokens (default 128)."
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=None,
        help="Tokens shared by the windows of a long sentence (default: a quarter of --max_seq_length).",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="Windows per forward pass (default 64).")
    add_autocast_argument(parser)
    add_backend_arguments(parser)
    add_pickle_weights_argument(parser)
    add_stream_arguments(parser)
    args = parser.parse_args(argv)
    options = stream_options(args)
    check_backend(args.backend, args.quantize, args.autocast)
    loader_kwargs = {
        "model_dir": args.model,
        "max_length": args.max_seq_length,
        "stride": args.stride,
        "batch_size": args.batch_size,
        "autocast": args.autocast,
        "allow_pickle_weights": args.allow_pickle_weights,
        "backend": args.backend,
        "quantize": args.quantize,
    }
    sentences = iter_sentences(args.input, args.input_format)
    written, resumed = stream_predictions(
        sentences, load_tagger, loader_kwargs, args.output, _same_sentence, options
    )
    print(
        f"{written + resumed} sentences tagged ({resumed} by an earlier run) -> {args.output}",
        file=sys.stderr,
    )


def _same_sentence(record: dict, words: list[str]) -> bool:
    return record.get("words") == words


if __name__ == "__main__":
    run_main(main)
