"""Several seeds per entry: each arm's mean and standard deviation, and ours against the reference as a paired
bootstrap difference on the same test examples.

Pairing uses the files each recipe run leaves: `test_predictions.conll` (NER: word, gold, predicted) or
`test_predictions.jsonl` (classification: label and predicted; reward model: the two rewards), read back
into per-example counts (mossrl_hf.metrics.bootstrap). Every run of both arms is scored on the same
resamples of the same test examples; the difference is (mean over ours' seeds) - (mean over the
reference's seeds). The verdict says "better" or "worse" only when the 95% interval excludes 0, else "no
difference measured".
"""

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import bootstrap

PAIRED_SAMPLES, PAIRED_SEED = 1000, 0


def _ner_counts(output_dir: Path) -> np.ndarray:
    """Per-sentence counts from test_predictions.conll (conlleval's input: word, gold, predicted)."""
    gold, predicted = [], []
    sentence_gold, sentence_predicted = [], []
    lines = (output_dir / "test_predictions.conll").read_text(encoding="utf-8").splitlines()
    for line in [*lines, ""]:
        if not line.strip():
            if sentence_gold:
                gold.append(sentence_gold)
                predicted.append(sentence_predicted)
            sentence_gold, sentence_predicted = [], []
            continue
        *_, gold_tag, predicted_tag = line.split(" ")
        sentence_gold.append(gold_tag)
        sentence_predicted.append(predicted_tag)
    config = (
        json.loads((output_dir / "config.json").read_text()) if (output_dir / "config.json").is_file() else {}
    )
    return bootstrap.ner_sentence_counts(gold, predicted, config.get("ner_tag_scheme"))


def _jsonl(output_dir: Path) -> list[dict[str, Any]]:
    path = output_dir / "test_predictions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def example_counts(recipe: str, output_dir: Path) -> tuple[np.ndarray, dict] | None:
    """(per-example counts, statistics by metric name) of a finished run's test predictions; None when the
    run left none."""
    output_dir = Path(output_dir)
    try:
        if recipe == "ner":
            return _ner_counts(output_dir), bootstrap.NER_STATISTICS
        rows = _jsonl(output_dir)
    except (OSError, ValueError):
        return None
    if recipe == "reward_model":
        margins = np.array([row["chosen_reward"] - row["rejected_reward"] for row in rows])
        return bootstrap.pairwise_counts(margins), bootstrap.PAIRWISE_STATISTICS
    labels = sorted({row["label"] for row in rows} | {row["predicted"] for row in rows})
    names = list(rows[0]["probabilities"]) if rows and "probabilities" in rows[0] else labels
    index = {name: position for position, name in enumerate(names)}
    gold = np.array([index[row["label"]] for row in rows])
    predicted = np.array([index[row["predicted"]] for row in rows])
    return bootstrap.classification_counts(gold, predicted, len(names)), bootstrap.classification_statistics(
        len(names)
    )


def arm_summaries(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per entry (its name before the seeds), the metric over its finished seeds: values, mean, std."""
    arms: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("kind") != "recipe" or record.get("metric") is None:
            continue
        base = record.get("base_name") or record["name"]
        arm = arms.setdefault(base, {"metric": record["metric"], "seeds": [], "values": []})
        if record["status"] == "ok" and record.get("metric_value") is not None:
            arm["seeds"].append(record.get("seed"))
            arm["values"].append(record["metric_value"])
    for arm in arms.values():
        values = arm["values"]
        arm["mean"] = statistics.fmean(values) if values else None
        arm["std"] = statistics.stdev(values) if len(values) > 1 else None  # sample std over seeds
    return arms


def paired_comparisons(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each non-reference arm against its reference arm, seed by seed, on the same test examples."""
    by_name = {record["name"]: record for record in records}
    pairs: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
    for record in records:
        reference = by_name.get(record.get("compare_to") or "")
        if record["status"] != "ok" or reference is None or reference["status"] != "ok":
            continue
        key = (record.get("base_name") or record["name"], reference.get("base_name") or reference["name"])
        pairs.setdefault(key, []).append((record, reference))
    comparisons = []
    for (ours, theirs), runs in pairs.items():
        comparisons.append(_compare(ours, theirs, runs))
    return comparisons


def _compare(ours: str, theirs: str, runs: list[tuple[dict, dict]]) -> dict[str, Any]:
    metric = runs[0][0]["metric"]
    name = metric.removeprefix("test_")
    result = {
        "entry": ours,
        "reference": theirs,
        "metric": metric,
        "seeds": [run[0].get("seed") for run in runs],
    }
    counted = [
        (
            example_counts(a["recipe"], Path(a["output_dir"])),
            example_counts(b["recipe"], Path(b["output_dir"])),
        )
        for a, b in runs
    ]
    if any(a is None or b is None or name not in a[1] for a, b in counted) or metric != runs[0][1]["metric"]:
        return {**result, "error": f"no per-example test predictions to pair on {metric}"}
    try:
        paired = bootstrap.paired_difference(
            [a[0] for a, _ in counted],
            [b[0] for _, b in counted],
            counted[0][0][1][name],
            PAIRED_SAMPLES,
            PAIRED_SEED,
        )
    except ValueError as error:  # the arms scored different test sets
        return {**result, "error": str(error)}
    return {**result, **paired, "examples": len(counted[0][0][0])}


def markdown(arms: dict[str, dict[str, Any]], comparisons: list[dict[str, Any]]) -> list[str]:
    """The report's section on seeds: arms, then the paired differences."""
    lines = ["", "## Over seeds: each arm's mean and standard deviation, ours vs the reference paired", ""]
    lines += ["| entry | metric | seeds | mean | std | per seed |", "|---|---|---|---|---|---|"]
    for base, arm in arms.items():
        mean = "–" if arm["mean"] is None else f"{arm['mean']:.4f}"
        std = "–" if arm["std"] is None else f"{arm['std']:.4f}"
        values = ", ".join(f"{value:.4f}" for value in arm["values"])
        seeds = ", ".join(str(seed) for seed in arm["seeds"])
        lines.append(f"| {base} | {arm['metric']} | {seeds} | {mean} | {std} | {values} |")
    if comparisons:
        lines += [
            "",
            f"Paired bootstrap over the same test examples ({PAIRED_SAMPLES} resamples, seed {PAIRED_SEED}): "
            "the difference of the means over seeds, ours minus the reference, and its 95% interval; "
            '"better" or "worse" only when the interval excludes 0.',
            "",
            "| entry | reference | metric | seeds | test examples | difference | 95% interval | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for item in comparisons:
        seeds = ", ".join(str(seed) for seed in item["seeds"])
        if "error" in item:
            cells = [item["entry"], item["reference"], item["metric"], seeds, "–", "–", "–", item["error"]]
        else:
            low, high = item["ci95"]
            cells = [
                item["entry"],
                item["reference"],
                item["metric"],
                seeds,
                str(item["examples"]),
                f"{item['difference']:+.4f}",
                f"[{low:+.4f}, {high:+.4f}]",
                item["verdict"],
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
