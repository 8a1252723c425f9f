"""Streaming prediction in bounded memory: `python -m mossrl_hf.predict` over a large synthetic input at
several sizes, each in its own process, with that process's peak RSS.

    python -m mossrl_hf.bench.predict_speed --model outputs/ner --test_file test.txt \
        --stream_sizes 50000,500000 --output stream.json

The input is the test file's sentences repeated (one sentence a line) up to each size. If memory does not
grow with the input, the peak RSS is the same at every size (`rss_ratio_largest_to_smallest` near 1), and
the time grows with the size. Every output must hold one record per input line, in order.
"""

import json
import sys
from pathlib import Path
from typing import Any

from ..data.conll import iter_conll
from .runner import run_process


def write_repeated(test_file: str, sentences: int, path: Path) -> None:
    """`sentences` lines: the test file's sentences, one a line, repeated as often as needed."""
    source = [" ".join(sentence.words) + "\n" for sentence in iter_conll(test_file)]
    with open(path, "w", encoding="utf-8") as stream:
        for index in range(sentences):
            stream.write(source[index % len(source)])


def output_is_complete(input_path: Path, output_path: Path) -> bool:
    """One record per input line, in order (each record's words are its line's words)."""
    with open(input_path, encoding="utf-8") as lines, open(output_path, encoding="utf-8") as records:
        for line, record in zip(lines, records, strict=False):
            if json.loads(record)["words"] != line.split():
                return False
    return sum(1 for _ in open(input_path, "rb")) == sum(1 for _ in open(output_path, "rb"))


def measure_stream(model: str, test_file: str, sizes: list[int], work: Path, flags: list[str]) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    for size in sorted(sizes):
        source, output = work / f"input-{size}.txt", work / f"output-{size}.jsonl"
        write_repeated(test_file, size, source)
        command = [sys.executable, "-m", "mossrl_hf.predict", "--model", model, "--input", str(source)]
        command += ["--output", str(output), "--no_progress", *flags]
        result = run_process(command, work / f"predict-{size}.log", None, None)
        if result.returncode != 0:
            raise RuntimeError(f"prediction over {size} sentences failed: see {work}/predict-{size}.log")
        runs.append(
            {
                "sentences": size,
                "seconds": result.wall_seconds,
                "sentences_per_second": size / result.wall_seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
                "output_complete": output_is_complete(source, output),
            }
        )
        source.unlink()
        output.unlink()
    smallest, largest = runs[0], runs[-1]
    return {
        "stream_runs": runs,
        "stream_flags": flags,
        "rss_ratio_largest_to_smallest": largest["peak_rss_bytes"] / smallest["peak_rss_bytes"],
        "all_outputs_complete": all(run["output_complete"] for run in runs),
    }
