"""NER prediction speed: the project's tagger on all sentences at once against the transformers pipeline
called once per sentence, same model, same sentences, both scored against the gold tags.

    python -m mossrl_hf.bench.predict_speed --model outputs/ner --test_file test.txt --output speed.json

The tagger is `mossrl_hf.predict.load_tagger(model)` called once with every sentence (as word lists);
the pipeline is `pipeline("token-classification", aggregation_strategy="first")` called once per sentence
(the words joined by spaces), its entities mapped back to words by character offsets. Both are loaded and
warmed up on one sentence before the clock starts, so the times are the work, not the loading; as in the
prediction commands, what loading left is set aside from Python's garbage collector (for both arms), and
each timed call starts from a collected heap. The tagger then tags the same sentences a second time
(`tagger_second_pass_seconds`, `speedup_second_pass`): the rate of a long corpus, where each batch shape and
most words have been met before.

The tagger runs in the precision the recipe evaluated in (float32, or bfloat16 autocast for a model trained
with --bf16). The pipeline is timed as users call it (float32); for a bfloat16 model it is timed a second
time under the same autocast (`pipeline_autocast_seconds`), so the share of the speed-up that is precision
is visible. `--backend`, `--quantize` and `--autocast` choose another tagger (as the prediction command's
flags do); it is then timed and scored beside the float tagger in the same run.

The tagger's tags are scored exactly as the recipe scores its test split, so its F1 must equal the
model's recipe `test_f1` when the recipe measured it on the same file (same sha256, same sentence cap):
the output says whether it does.
"""

import argparse
import gc
import logging
import time
from pathlib import Path
from typing import Any

from ..batching import loaded_objects_set_aside
from ..data.conll import read_conll
from ..errors import run_main
from ..inference_backends import BACKENDS, QUANTIZATIONS
from ..metrics.ner_metrics import ner_metrics
from ..reporting import sha256_of, write_json
from .collect import config_value, read_json

logger = logging.getLogger(__name__)


def word_spans(words: list[str]) -> list[tuple[int, int]]:
    """Character span of each word in `" ".join(words)`."""
    spans, start = [], 0
    for word in words:
        spans.append((start, start + len(word)))
        start += len(word) + 1
    return spans


def entities_to_tags(entities: list[dict[str, Any]], words: list[str]) -> list[str]:
    """IOB2 word tags from pipeline entities: each entity covers the words its characters overlap; a word
    an earlier entity already took keeps its tag."""
    spans = word_spans(words)
    tags = ["O"] * len(words)
    for entity in entities:
        covered = [
            i for i, (start, end) in enumerate(spans) if start < entity["end"] and end > entity["start"]
        ]
        label = entity.get("entity_group") or entity.get("entity")
        for position, index in enumerate(covered):
            if tags[index] == "O":
                tags[index] = f"{'B' if position == 0 else 'I'}-{label}"
    return tags


def recipe_test_f1(model_dir: Path, test_sha256: str, max_sentences: int | None) -> dict[str, Any]:
    """The model's recipe `test_f1` and whether it was measured on these sentences."""
    results = read_json(model_dir / "all_results.json") or {}
    run_config = read_json(model_dir / "run_config.json") or {}
    environment = read_json(model_dir / "environment.json") or {}
    recorded = environment.get("data_files", {}).get("test", {}).get("sha256")
    value = results.get("test_f1")
    if value is None:
        note = "the model's all_results.json has no test_f1"
    elif recorded != test_sha256:
        note = "the recipe's test file differs from this one (sha256)"
    elif config_value(run_config, "max_test_samples") != max_sentences:
        note = "the recipe scored a different number of test sentences (max_test_samples)"
    else:
        note = None
    return {"recipe_test_f1": value, "recipe_f1_comparable": note is None, "recipe_f1_note": note}


def _settings(model_dir: Path, args: argparse.Namespace) -> tuple[int, int]:
    """The window length and stride the recipe trained and evaluated with, unless given."""
    run_config = read_json(model_dir / "run_config.json") or {}
    max_length = args.max_seq_length or config_value(run_config, "max_seq_length") or 128
    stride = args.stride if args.stride is not None else config_value(run_config, "stride")
    return int(max_length), int(32 if stride is None else stride)


def time_tagger(tagger, sentences: list[list[str]]) -> tuple[float, list[list[str]]]:
    tagger(sentences[:1])  # warm-up
    gc.collect()  # each timed call starts from a collected heap (loading leaves a full collection due)
    start = time.perf_counter()
    records = tagger(sentences)
    return time.perf_counter() - start, [record["tags"] for record in records]


def time_second_pass(tagger, sentences: list[list[str]], first_tags: list[list[str]]) -> dict[str, Any]:
    """The same call again: what each further batch of a long corpus costs, once the runtime has met these
    batch shapes (OpenVINO prepares its kernels for each new shape, about 10 ms each) and the words; and
    whether it tagged every word as the first pass did."""
    seconds, tags = time_tagger(tagger, sentences)
    return {"tagger_second_pass_seconds": seconds, "second_pass_tags_equal": tags == first_tags}


def time_pipeline(
    pipe, sentences: list[list[str]], autocast: str | None = None
) -> tuple[float, list[list[str]]]:
    from ..modeling import autocast_context

    with autocast_context(pipe.device.type, autocast):
        pipe(" ".join(sentences[0]))  # warm-up
        gc.collect()
        start = time.perf_counter()
        outputs = [pipe(" ".join(words)) for words in sentences]
        seconds = time.perf_counter() - start
    return seconds, [
        entities_to_tags(entities, words) for entities, words in zip(outputs, sentences, strict=True)
    ]


def load_both(
    model_dir: Path,
    max_length: int,
    stride: int,
    batch_size: int,
    device: str,
    backend=("torch", "none"),
    autocast: str = "auto",
):
    """The tagger (on `backend`: (backend, quantize), under `autocast`) and the pipeline on `device`, and how
    long each took to load (an exported or quantized tagger's time includes the export and quantization)."""
    from transformers import pipeline

    from ..predict import load_tagger

    start = time.perf_counter()
    tagger = load_tagger(
        str(model_dir),
        max_length=max_length,
        stride=stride,
        batch_size=batch_size,
        backend=backend[0],
        quantize=backend[1],
        autocast=autocast,
    )
    if backend == ("torch", "none"):
        tagger.model.to(device)
    tagger_load = time.perf_counter() - start
    start = time.perf_counter()
    pipe = pipeline("token-classification", model=str(model_dir), aggregation_strategy="first", device=device)
    return tagger, pipe, tagger_load, time.perf_counter() - start


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    model_dir = Path(args.model)
    records = read_conll(args.test_file, args.tag_column).head(args.max_sentences)
    sentences, gold = records.words, records.tags
    max_length, stride = _settings(model_dir, args)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    backend = (args.backend, args.quantize)
    # The recipe's own tagger, or one whose figures are compared with it (the float tagger) instead.
    exact = backend == ("torch", "none") and args.autocast == "auto"
    tagger, pipe, tagger_load, pipeline_load = load_both(
        model_dir, max_length, stride, args.batch_size, device, backend, args.autocast
    )
    with loaded_objects_set_aside():  # for both arms, as the prediction commands do
        tagger_seconds, tagger_tags = time_tagger(tagger, sentences)
        second_pass = time_second_pass(tagger, sentences, tagger_tags)
        pipeline_seconds, pipeline_tags = time_pipeline(pipe, sentences)
        same_precision = time_pipeline(pipe, sentences, tagger.autocast)[0] if tagger.autocast else None
    float_figures = {} if exact else _float_figures(model_dir, args, sentences, gold, tagger_seconds)
    scheme = tagger.word_tagger.scheme
    tagger_scores = ner_metrics(gold, tagger_tags, scheme)
    pipeline_scores = ner_metrics(gold, pipeline_tags, scheme)
    test_sha256 = sha256_of(args.test_file)
    comparison = recipe_test_f1(model_dir, test_sha256, args.max_sentences)
    equal = (
        comparison["recipe_test_f1"] == tagger_scores["f1"]
        if comparison["recipe_f1_comparable"] and exact
        else None  # an exported, quantized or other-precision tagger is compared with the float tagger
    )
    return {
        "model": str(model_dir.resolve()),
        "test_file": str(Path(args.test_file).resolve()),
        "test_file_sha256": test_sha256,
        "sentences": len(sentences),
        "words": sum(len(words) for words in sentences),
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "max_length": max_length,
        "stride": stride,
        "batch_size": args.batch_size,
        "decoding": tagger.word_tagger.method,
        "autocast": tagger.autocast,
        "tagger_load_seconds": tagger_load,
        "pipeline_load_seconds": pipeline_load,
        "tagger_seconds": tagger_seconds,
        "pipeline_seconds": pipeline_seconds,
        "tagger_sentences_per_second": len(sentences) / tagger_seconds,
        "pipeline_sentences_per_second": len(sentences) / pipeline_seconds,
        "speedup": pipeline_seconds / tagger_seconds,
        **second_pass,
        "speedup_second_pass": pipeline_seconds / second_pass["tagger_second_pass_seconds"],
        "pipeline_autocast_seconds": same_precision,
        "speedup_vs_pipeline_autocast": same_precision / tagger_seconds if same_precision else None,
        "tagger_f1": tagger_scores["f1"],
        "tagger_strict_f1": tagger_scores["strict_f1"],
        "pipeline_f1": pipeline_scores["f1"],
        "pipeline_strict_f1": pipeline_scores["strict_f1"],
        **comparison,
        "tagger_f1_equals_recipe_test_f1": equal,
        "backend": args.backend,
        "quantize": args.quantize,
        "prediction_backend": getattr(tagger.model, "prediction_backend", None),
        **float_figures,
        "f1_change_vs_float_tagger": (
            tagger_scores["f1"] - float_figures["float_tagger_f1"] if float_figures else None
        ),
    }


def _float_figures(model_dir, args, sentences, gold, tagger_seconds) -> dict[str, Any]:
    """For an exported, quantized or other-precision tagger, the float tagger (the recipe's precision) on
    the same sentences in the same run: its time, its F1, and how far the fast tagger's F1 moved from it."""
    from ..predict import load_tagger

    max_length, stride = _settings(model_dir, args)
    exact = load_tagger(str(model_dir), max_length=max_length, stride=stride, batch_size=args.batch_size)
    with loaded_objects_set_aside():
        seconds, tags = time_tagger(exact, sentences)
    scores = ner_metrics(gold, tags, exact.word_tagger.scheme)
    return {
        "float_tagger_seconds": seconds,
        "float_tagger_f1": scores["f1"],
        "speedup_vs_float_tagger": seconds / tagger_seconds,
    }


def _stream(args: argparse.Namespace) -> dict[str, Any]:
    from .predict_stream import measure_stream

    sizes = [int(size) for size in args.stream_sizes.split(",")]
    flags = ["--backend", args.backend, "--quantize", args.quantize, "--autocast", args.autocast]
    flags += ["--batch_size", str(args.batch_size)]
    work = Path(args.output).parent / "stream-work"
    return {"model": args.model, **measure_stream(args.model, args.test_file, sizes, work, flags)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="Directory written by recipes/ner.py (a full model).")
    parser.add_argument("--test_file", required=True, help="CoNLL file whose sentences are tagged.")
    parser.add_argument("--output", required=True, help="JSON file to write the figures to.")
    parser.add_argument("--tag_column", type=int, default=-1, help="0-based column of the gold tag.")
    parser.add_argument("--max_sentences", type=int, default=None, help="Only the first N sentences.")
    parser.add_argument("--max_seq_length", type=int, default=None, help="Default: the recipe's.")
    parser.add_argument("--stride", type=int, default=None, help="Default: the recipe's.")
    parser.add_argument("--batch_size", type=int, default=64, help="Tagger batch size.")
    parser.add_argument("--backend", choices=BACKENDS, default="torch", help="The tagger's backend.")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none", help="The tagger's weights.")
    parser.add_argument(
        "--autocast",
        default="auto",
        help="The tagger's precision (as `python -m mossrl_hf.predict --autocast`): auto (the recipe's), "
        "none, bfloat16 or float16; with --backend openvino, OpenVINO's inference precision.",
    )
    parser.add_argument(
        "--stream_sizes",
        default=None,
        help="Instead: time `python -m mossrl_hf.predict` over the test sentences repeated to each of these "
        "sizes (e.g. 50000,500000) and record each run's peak RSS (mossrl_hf.bench.predict_stream).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.stream_sizes:
        result = _stream(args)
        write_json(args.output, result)
        logger.info("peak RSS ratio %.3f over %s", result["rss_ratio_largest_to_smallest"], args.stream_sizes)
        return
    result = measure(args)
    write_json(args.output, result)
    logger.info(
        "tagger %.2f s, pipeline %.2f s (x%.1f); F1 tagger %.4f, pipeline %.4f, recipe %s",
        result["tagger_seconds"],
        result["pipeline_seconds"],
        result["speedup"],
        result["tagger_f1"],
        result["pipeline_f1"],
        result["recipe_test_f1"],
    )


if __name__ == "__main__":
    run_main(main)
