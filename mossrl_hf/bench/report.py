"""From entry records to what people read: ratios to the in-run reference, targets, results.md, a plot."""

import logging
from pathlib import Path
from typing import Any

from . import seeds
from .suite import PREDICT_SPEED_KIND, target_met

logger = logging.getLogger(__name__)

MIB = 1 << 20


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def entry_ratios(entry: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """An optimized entry against its reference. Speeds and speed-ups: above 1 is faster; memory: below 1
    is smaller; metric_difference: entry minus reference (same metric only)."""
    speed, reference_speed = entry["throughput"], reference["throughput"]
    same_metric = entry["metric"] == reference["metric"]
    values = (entry["metric_value"], reference["metric_value"])
    return {
        "entry": entry["name"],
        "reference": reference["name"],
        "metric": entry["metric"],
        "real_tokens_per_second": _ratio(
            speed["real_tokens_per_second"], reference_speed["real_tokens_per_second"]
        ),
        "padded_tokens_per_second": _ratio(
            speed["padded_tokens_per_second"], reference_speed["padded_tokens_per_second"]
        ),
        "train_samples_per_second": _ratio(
            speed["train_samples_per_second"], reference_speed["train_samples_per_second"]
        ),
        "train_time_speedup": _ratio(reference_speed["train_runtime"], speed["train_runtime"]),
        "wall_time_speedup": _ratio(reference["wall_seconds"], entry["wall_seconds"]),
        "peak_rss": _ratio(entry["peak_rss_bytes"], reference["peak_rss_bytes"]),
        "peak_gpu_memory": _ratio(entry.get("peak_gpu_memory_bytes"), reference.get("peak_gpu_memory_bytes")),
        "metric_difference": values[0] - values[1] if same_metric and None not in values else None,
    }


def add_ratios_and_targets(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios of every finished optimized entry to its finished reference; each entry's targets judged
    against its ratios (recipe entries) or its own figures (prediction speed). Returns the ratios."""
    by_name = {record["name"]: record for record in records}
    ratios = []
    for record in records:
        figures: dict[str, Any] = {}
        reference = by_name.get(record.get("compare_to") or "")
        if record["status"] == "ok" and reference is not None and reference["status"] == "ok":
            figures = entry_ratios(record, reference)
            ratios.append(figures)
        elif record["status"] == "ok" and record["kind"] == PREDICT_SPEED_KIND:
            figures = record["predict_speed"]
        record["target_results"] = [
            {
                "name": name,
                "wanted": wanted,
                "value": figures.get(name),
                "met": target_met(wanted, figures.get(name)),
            }
            for name, wanted in record["targets"].items()
        ]
    return ratios


def _fmt(value: Any, pattern: str = "{:.1f}", missing: str = "–") -> str:
    return missing if value is None else pattern.format(value)


def _times(value: float | None) -> str:
    return _fmt(value, "×{:.2f}")


def _targets(record: dict[str, Any]) -> str:
    results = record.get("target_results") or []
    if not results:
        return ""
    met = sum(result["met"] is True for result in results)
    missed = [result["name"] for result in results if result["met"] is not True]
    return f"{met}/{len(results)} met" + (f" (not: {', '.join(missed)})" if missed else "")


def _train_examples(record: dict[str, Any]) -> str:
    if record.get("throughput", {}).get("train_samples") is not None:
        return str(record["throughput"]["train_samples"])
    cap, seed = record.get("max_train_samples"), record.get("subset_seed")
    if cap is None:
        return "all"
    return f"{cap} drawn (seed {seed})" if seed is not None else f"first {cap}"


def _model_flops_cell(speed: dict[str, Any]) -> str:
    """Achieved model TFLOP/s (6 x parameters x real tokens / train time), MFU if the peak is known."""
    rate = speed.get("model_flops_per_second")
    if rate is None:
        return "–"
    mfu = speed.get("mfu")
    return f"{rate / 1e12:.2f}" + ("" if mfu is None else f" ({mfu:.1%} MFU)")


def _entry_row(record: dict[str, Any]) -> str:
    speed = record.get("throughput") or {}
    status = "ok" if record["status"] == "ok" else f"{record['status']}: {record.get('error')}"
    metric = (
        f"{record.get('metric')} {_fmt(record.get('metric_value'), '{:.4f}')}"
        if record.get("metric")
        else "–"
    )
    cells = [
        record["name"],
        record["method"],
        _fmt(speed.get("epochs"), "{:g}"),
        _train_examples(record) if record["status"] == "ok" and record["kind"] != PREDICT_SPEED_KIND else "–",
        _fmt(speed.get("train_runtime"), "{:.1f} s"),
        _fmt(record.get("wall_seconds"), "{:.1f} s"),
        _fmt(speed.get("train_samples_per_second")),
        _fmt(speed.get("real_tokens_per_second"), "{:.0f}"),
        _fmt(speed.get("padded_tokens_per_second"), "{:.0f}"),
        _fmt(speed.get("padding_waste"), "{:.0%}"),
        _model_flops_cell(speed),
        _fmt(None if record.get("peak_rss_bytes") is None else record["peak_rss_bytes"] / MIB, "{:.0f} MiB"),
        _fmt(
            None if record.get("peak_gpu_memory_bytes") is None else record["peak_gpu_memory_bytes"] / MIB,
            "{:.0f} MiB",
        ),
        metric,
        status,
    ]
    return "| " + " | ".join(cells) + " |"


def _machine_line(results: dict[str, Any]) -> str:
    env = results["environment"]
    git = env.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    packages = env.get("packages") or {}
    gpus = ", ".join(env.get("gpu_names") or []) or "none"
    # The runs' own counts where recorded (results before they were: the harness's count).
    counts = sorted(set((env.get("run_torch_threads") or {}).values())) or [env.get("torch_threads")]
    threads = " or ".join(str(count) for count in counts)
    return (
        f"{env.get('cpu_model')}, {env.get('usable_cores')} usable cores, "
        f"torch threads {threads}, GPU: {gpus}; commit {commit}; "
        f"torch {packages.get('torch')}, transformers {packages.get('transformers')}"
    )


def _ratio_table(results: dict[str, Any], records: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Against the reference (same run)",
        "",
        "Speeds and speed-ups: above 1 is faster than the reference; peak RSS: below 1 is smaller.",
        "",
        "| entry | reference | real tok/s | padded tok/s | samples/s | train time | whole command | peak RSS "
        "| Δ metric | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ratio in results["ratios"]:
        difference = _fmt(ratio["metric_difference"], "{:+.4f}")
        lines.append(
            f"| {ratio['entry']} | {ratio['reference']} | {_times(ratio['real_tokens_per_second'])} "
            f"| {_times(ratio['padded_tokens_per_second'])} | {_times(ratio['train_samples_per_second'])} "
            f"| {_times(ratio['train_time_speedup'])} | {_times(ratio['wall_time_speedup'])} "
            f"| {_times(ratio['peak_rss'])} | {difference} {ratio['metric'] or ''} "
            f"| {_targets(records[ratio['entry']])} |"
        )
    return lines


def _predict_speed_table(records: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## NER prediction: `load_tagger` once on all sentences vs `pipeline` once per sentence",
        "",
        "| entry | model of | tagger | sentences | tagger | pipeline | speed-up | tagger F1 | pipeline F1 "
        "| recipe test F1 | tagger = recipe | pipeline in the same precision | float tagger (F1 change) "
        "| targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    streams = [record for record in records if "stream_runs" in record["predict_speed"]]
    for record in records:
        if record in streams:
            continue
        speed = record["predict_speed"]
        equal = speed.get("tagger_f1_equals_recipe_test_f1")
        same_precision = speed.get("pipeline_autocast_seconds")
        cells = [
            record["name"],
            record["model_from"],
            _tagger_kind(speed),
            str(speed["sentences"]),
            f"{speed['tagger_seconds']:.1f} s",
            f"{speed['pipeline_seconds']:.1f} s",
            _speedups(speed),
            f"{speed['tagger_f1']:.4f}",
            f"{speed['pipeline_f1']:.4f}",
            _fmt(speed["recipe_test_f1"], "{:.4f}"),
            "–" if equal is None else "yes" if equal else "NO",
            "–"
            if same_precision is None
            else f"{same_precision:.1f} s (×{speed['speedup_vs_pipeline_autocast']:.1f})",
            _float_tagger(speed),
            _targets(record),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + _stream_table(streams)


def _speedups(speed: dict[str, Any]) -> str:
    """The first pass's ratio, and the second pass's (a long corpus's rate) where it was measured."""
    second = speed.get("speedup_second_pass")
    if second is None:
        return f"×{speed['speedup']:.1f}"
    same = "" if speed.get("second_pass_tags_equal", True) else ", tags NOT the same"
    return f"×{speed['speedup']:.1f} (second pass ×{second:.1f}{same})"


def _tagger_kind(speed: dict[str, Any]) -> str:
    if speed.get("prediction_backend"):  # what the exported or quantized model ran as, e.g. openvino-bf16
        return speed["prediction_backend"].replace("-", " ")
    backend = f"{speed.get('backend', 'torch')} {'int8' if speed.get('quantize') == 'int8' else ''}".strip()
    return f"{backend}, {speed.get('autocast') or 'float32'}" if backend == "torch" else backend


def _float_tagger(speed: dict[str, Any]) -> str:
    if speed.get("float_tagger_seconds") is None:
        return "–"
    return (
        f"{speed['float_tagger_seconds']:.1f} s (this one ×{speed['speedup_vs_float_tagger']:.2f}; "
        f"F1 {speed['f1_change_vs_float_tagger']:+.4f})"
    )


def _stream_table(records: list[dict[str, Any]]) -> list[str]:
    """Streaming prediction (`--stream_sizes`): peak RSS and speed at each input size."""
    if not records:
        return []
    lines = ["", "| entry | sentences | time | sentences/s | peak RSS | output complete | targets |"]
    lines.append("|---|---|---|---|---|---|---|")
    for record in records:
        for run in record["predict_speed"]["stream_runs"]:
            cells = [
                record["name"],
                f"{run['sentences']:,}",
                f"{run['seconds']:.0f} s",
                f"{run['sentences_per_second']:.0f}",
                f"{run['peak_rss_bytes'] / MIB:.0f} MiB",
                "yes" if run["output_complete"] else "NO",
                _targets(record),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _is_method_comparison(records: list[dict[str, Any]]) -> bool:
    """A suite that compares which weights train (the peft suite): more than one peft method ran."""
    methods = {r.get("peft_method") for r in records if r["status"] == "ok" and r.get("peft_method")}
    return len(methods) > 1


def _method_table(results: dict[str, Any], records: list[dict[str, Any]]) -> list[str]:
    ratios = {ratio["entry"]: ratio for ratio in results["ratios"]}
    lines = [
        "",
        "## Which weights train (ratios to full fine-tuning in the same run)",
        "",
        "| entry | method | trainable params | weights on disk | metric | Δ metric | train time | real tok/s "
        "| peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        if record["status"] != "ok" or not record.get("peft_method"):
            continue
        parameters, ratio = record["parameters"], ratios.get(record["name"], {})
        trainable, total = parameters["trainable"], parameters["total"]
        share = f"{trainable:,} ({trainable / total:.2%})" if trainable and total else "–"
        size = parameters["weights_bytes"]
        difference = "(reference)" if record["reference"] else _fmt(ratio.get("metric_difference"), "{:+.4f}")
        cells = [
            record["name"],
            record["method"],
            share,
            _fmt(None if size is None else size / MIB, "{:.2f} MiB"),
            f"{record['metric']} {_fmt(record['metric_value'], '{:.4f}')}",
            difference,
            _times(ratio.get("train_time_speedup")),
            _times(ratio.get("real_tokens_per_second")),
            _times(ratio.get("peak_rss")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [
        *lines,
        "",
        "Train time: above ×1 is faster than full fine-tuning; peak RSS: below ×1 is smaller.",
    ]


def markdown(results: dict[str, Any]) -> str:
    suite = results["suite"]
    records = results["entries"]
    lines = [
        f"# Benchmark `{suite['name']}`",
        "",
        suite["description"].strip(),
        "",
        f"`{results['command']}`, {results['started_at']}, {results['wall_seconds']:.0f} s in all.  ",
        f"{_machine_line(results)}",
        "",
        "| entry | method | epochs | train examples | train time | whole command | samples/s | real tok/s "
        "| padded tok/s | padding waste | model TFLOP/s | peak RSS | peak GPU | metric | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_entry_row(record) for record in records),
    ]
    if results["ratios"]:
        lines += _ratio_table(results, {record["name"]: record for record in records})
    if _is_method_comparison(records):
        lines += _method_table(results, records)
    over_seeds = results.get("over_seeds") or {}
    if over_seeds.get("paired") or any(len(arm["values"]) > 1 for arm in over_seeds.get("arms", {}).values()):
        lines += seeds.markdown(over_seeds["arms"], over_seeds["paired"])
    speed = [r for r in records if r["kind"] == PREDICT_SPEED_KIND and r["status"] == "ok"]
    if speed:
        lines += _predict_speed_table(speed)
    lines += [
        "",
        "Train time is Trainer's `train_runtime` (evaluation during training included, on the same schedule "
        "for every arm); tokens are sub-word tokens of the training batches, real = padding excluded. "
        "Model TFLOP/s: 6 x parameters x real tokens / train time; MFU: that over the GPU's dense peak "
        "for the run's precision (`mossrl_hf/bench/flops.py`).",
    ]
    return "\n".join(lines) + "\n"


def _x_value(record: dict[str, Any], by_parameters: bool) -> float:
    if by_parameters:
        return record["parameters"]["trainable"]
    return record["throughput"]["train_runtime"] or record["wall_seconds"]


def plot(results: dict[str, Any], path: Path) -> None:
    """Metric against training time (or, comparing which weights train, against trainable parameters), one
    panel per recipe, one marker per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finished = [
        r
        for r in results["entries"]
        if r["status"] == "ok" and r.get("recipe") and r.get("metric_value") is not None
    ]
    recipes = sorted({r["recipe"] for r in finished})
    by_parameters = _is_method_comparison(finished)
    figure, axes = plt.subplots(
        1, max(len(recipes), 1), figsize=(5.5 * max(len(recipes), 1), 4), squeeze=False
    )
    # One marker and colour per method, the same in every panel.
    methods = sorted({r["method"] for r in finished})
    styles = {method: ("osD^vP*X"[i % 8], f"C{i % 10}") for i, method in enumerate(methods)}
    for axis, recipe in zip(axes[0], recipes, strict=False):
        for record in (r for r in finished if r["recipe"] == recipe):
            marker, colour = styles[record["method"]]
            x = _x_value(record, by_parameters)
            axis.scatter(
                [x], [record["metric_value"]], marker=marker, color=colour, s=60, label=record["method"]
            )
            axis.annotate(
                record["name"],
                (x, record["metric_value"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
        metric = next(r["metric"] for r in finished if r["recipe"] == recipe)
        axis.set(title=recipe, xlabel="trainable parameters" if by_parameters else "training time (s)")
        axis.set(ylabel=metric)
        if by_parameters:
            axis.set_xscale("log")
        axis.grid(alpha=0.3)
        handles, labels = axis.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        axis.legend(unique.values(), unique.keys(), fontsize=8)
    if not recipes:
        axes[0][0].text(0.5, 0.5, "no finished training entry", ha="center", va="center")
        axes[0][0].set_axis_off()
    figure.suptitle(f"Benchmark {results['suite']['name']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
