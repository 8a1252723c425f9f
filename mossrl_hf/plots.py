"""PNG plots of a run, drawn from the Trainer's log history and the run's results with matplotlib alone.

Figures are built with `matplotlib.figure.Figure` and the Agg canvas directly rather than through pyplot, so
nothing global changes: a user's own backend choice stays as it was and no display is ever needed. Each PNG
is rendered into memory first and then written whole (`reporting.atomic_write_bytes`), so a plot that fails
half-way leaves no file behind.
"""

import io
import logging
import math
import numbers
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .reporting import atomic_write_bytes

logger = logging.getLogger(__name__)

DPI = 110
# Markers on every point would hide a long curve; a short one needs them to be seen at all.
_MARKER_LIMIT = 50
_SPLIT_NAMES = {"test": "test", "eval": "validation"}
# Timings are not model quality; they would only crowd the choice of what to draw.
_EVAL_TIMINGS = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")


def _number(value: Any) -> float | None:
    """`value` as a finite float, or None for anything else (lists, dicts, strings, booleans, NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _series(records: list[dict], x_key: str, y_key: str) -> tuple[list[float], list[float]]:
    points = [(_number(record.get(x_key)), _number(record.get(y_key))) for record in records]
    points = [(x, y) for x, y in points if x is not None and y is not None]
    return [x for x, _ in points], [y for _, y in points]


def _marker(count: int) -> str | None:
    return "o" if count <= _MARKER_LIMIT else None


def _whole_steps(ax, xs: list[float]) -> None:
    """Whole-number ticks, and a lone step shown with a step either side rather than at 2.95, 3.00, 3.05."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if max(xs) - min(xs) < 2:
        ax.set_xlim(min(xs) - 1, max(xs) + 1)


def _render(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)  # attaches itself to the figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    # A Figure made without pyplot is registered nowhere, so there is nothing to close: clearing it frees
    # its artists now instead of whenever the collector gets to them.
    figure.clear()
    return buffer.getvalue()


Panel = tuple[list[float], list[float], str, str]  # xs, ys, legend label, y-axis label


def _stacked_figure(
    panels: list[Panel], x_label: str, title: str, marker: Callable[[int], str | None]
) -> Figure:
    """One line plot per panel, stacked over a shared x axis."""
    figure = Figure(figsize=(8, 2.8 * len(panels) + 0.6), layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (xs, ys, label, y_label) in zip(axes, panels, strict=True):
        ax.plot(xs, ys, marker=marker(len(xs)), markersize=5, label=label)
        ax.set_ylabel(y_label)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
        if max(abs(y) for y in ys) < 1e-2:  # learning rates: 1e-5 beats 0.00001
            ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    axes[-1].set_xlabel(x_label)
    figure.suptitle(title)
    return figure


def _training_figure(log_history: list[dict]) -> Figure | None:
    """Loss and learning rate over steps; None when the run logged no training at all."""
    steps = [record for record in log_history if "loss" in record or "learning_rate" in record]
    loss_x, loss_y = _series(steps, "step", "loss")
    rate_x, rate_y = _series(steps, "step", "learning_rate")
    loss_label = "training loss"
    if not loss_x:
        # Runs shorter than `logging_steps` log no step at all, only the run's mean loss at its end: show
        # that as one point rather than no plot, and say what it is.
        summaries = [record for record in log_history if "train_loss" in record]
        loss_x, loss_y = _series(summaries[-1:], "step", "train_loss")
        loss_label = "mean training loss of the run (no per-step logs)"
    panels = [(loss_x, loss_y, loss_label, "loss"), (rate_x, rate_y, "learning rate", "learning rate")]
    panels = [panel for panel in panels if panel[0]]
    if not panels:
        return None
    title = f"Training {' and '.join(panel[3] for panel in panels)}"
    figure = _stacked_figure(panels, "training step", title, _marker)
    _whole_steps(figure.axes[-1], [x for panel in panels for x in panel[0]])
    return figure


def _evaluations(log_history: list[dict]) -> list[dict]:
    return [
        record
        for record in log_history
        if any(key.startswith("eval_") and key not in _EVAL_TIMINGS for key in record)
    ]


def _evaluation_axis(records: list[dict]) -> tuple[list[dict], str, str]:
    """The x key for evaluations: the step where every evaluation has one (Trainer always logs it, and it
    lines up with the training curves), else the epoch, else the evaluation's number."""
    for key, label in (("step", "training step"), ("epoch", "epoch")):
        if all(_number(record.get(key)) is not None for record in records):
            return records, key, label
    numbered = [{**record, "evaluation": index} for index, record in enumerate(records, start=1)]
    return numbered, "evaluation", "evaluation"


def _eval_figure(log_history: list[dict]) -> Figure | None:
    """The main metric (F1, else accuracy) and the loss over evaluations; None without evaluations."""
    records, x_key, x_label = _evaluation_axis(_evaluations(log_history))
    metric = next((key for key in ("eval_f1", "eval_accuracy") if _series(records, x_key, key)[0]), "eval_f1")
    panels = []
    for key, name in ((metric, metric.removeprefix("eval_")), ("eval_loss", "loss")):
        xs, ys = _series(records, x_key, key)
        if xs:
            best = max(ys) if key != "eval_loss" else min(ys)
            panels.append((xs, ys, f"validation {name} (best {best:.4f})", name))
    if not panels:
        return None
    title = f"Evaluation: {' and '.join(panel[3] for panel in panels)}"
    figure = _stacked_figure(panels, x_label, title, lambda count: "o")
    if x_key != "epoch":
        _whole_steps(figure.axes[-1], [x for panel in panels for x in panel[0]])
    return figure


def _entity_types(results: dict, prefix: str) -> list[str]:
    """Types X with `{prefix}_X_f1` and `{prefix}_X_number`; `strict_X` repeats X in strict mode."""
    types = []
    for key in results:
        if not (key.startswith(f"{prefix}_") and key.endswith("_number")):
            continue
        entity_type = key[len(prefix) + 1 : -len("_number")]
        scored = _number(results.get(f"{prefix}_{entity_type}_f1")) is not None
        if entity_type and scored and not entity_type.startswith("strict_"):
            types.append(entity_type)
    return sorted(types)


def _per_type_figure(results: dict, prefix: str) -> Figure:
    types = _entity_types(results, prefix)
    scores = [_number(results[f"{prefix}_{name}_f1"]) for name in types]
    support = [_number(results[f"{prefix}_{name}_number"]) for name in types]
    figure = Figure(figsize=(8, 1.4 + 0.45 * len(types)), layout="constrained")
    ax = figure.subplots()
    positions = range(len(types))
    ax.barh(positions, scores, color="tab:blue")
    ax.set_yticks(positions, labels=types)
    ax.invert_yaxis()  # first type at the top, as read
    for position, score, count in zip(positions, scores, support, strict=True):
        count_text = f"n={count:.0f}" if count is not None else "n=?"
        ax.text(score + 0.01, position, f"{score:.3f}  ({count_text})", va="center", fontsize=9)
    # Room right of a perfect bar for its text; the ticks still stop at 1.
    ax.set_xlim(0, 1.25)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("F1 (entity level, conlleval-compatible mode); n = gold entities")
    ax.set_ylabel("entity type")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        _title(f"Per-type F1 on the {_SPLIT_NAMES[prefix]} split", "overall", results.get(f"{prefix}_f1"))
    )
    return figure


def _title(text: str, figure_name: str, value) -> str:
    """`text`, with the split's headline figure in brackets when the run has one."""
    number = _number(value)
    return text if number is None else f"{text} ({figure_name} {number:.3f})"


def _cell_text(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _confusion_figure(results: dict, prefix: str, labels: list[str] | None) -> Figure | None:
    matrix = np.asarray(results[f"{prefix}_confusion_matrix"], dtype=float)
    if matrix.size == 0:
        return None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{prefix}_confusion_matrix is not a square table: shape {matrix.shape}")
    size = matrix.shape[0]
    names = [str(label) for label in labels] if labels is not None else []
    if len(names) != size:
        if labels is not None:
            logger.warning("%d labels for a %dx%d confusion matrix: using indices", len(names), size, size)
        names = [str(index) for index in range(size)]
    side = min(max(4.5, 0.6 * size + 3), 18)
    figure = Figure(figsize=(side + 1, side), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax, label="examples", shrink=0.8)
    long_names = max(len(name) for name in names) > 4
    ax.set_xticks(
        range(size), labels=names, rotation=45 if long_names else 0, ha="right" if long_names else "center"
    )
    ax.set_yticks(range(size), labels=names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("gold label")
    # Dark cells get light text so every count stays legible.
    threshold = matrix.max() / 2
    font_size = max(5, min(11, 140 / size))
    for row, column in np.ndindex(matrix.shape):
        value = matrix[row, column]
        colour = "white" if value > threshold else "black"
        ax.text(column, row, _cell_text(value), ha="center", va="center", color=colour, fontsize=font_size)
    ax.set_title(
        _title(
            f"Confusion matrix, {_SPLIT_NAMES[prefix]} split", "accuracy", results.get(f"{prefix}_accuracy")
        )
    )
    return figure


def _split_plot(results: dict, labels: list[str] | None) -> tuple[str, Callable[[], Figure | None]] | None:
    """The per-split plot: a confusion matrix where the results have one (classification), else per-type
    F1 bars (NER), for the test split if it has either, else the validation split."""
    for prefix in ("test", "eval"):
        if f"{prefix}_confusion_matrix" in results:
            return "confusion_matrix.png", partial(_confusion_figure, results, prefix, labels)
        if _entity_types(results, prefix):
            return "per_type_f1.png", partial(_per_type_figure, results, prefix)
    return None


def write_run_plots(
    output_dir: str | Path,
    log_history: list[dict],
    results: dict,
    labels: list[str] | None = None,
) -> list[Path]:
    """Write the PNG plots a run has data for into `output_dir` and return their paths.

    - `training_curves.png`: training loss and learning rate over steps (from `log_history`);
    - `eval_metrics.png`: validation F1 (else accuracy) and loss over evaluations (from `log_history`);
    - `confusion_matrix.png` when `results` has `{split}_confusion_matrix` (classification; axes named by
      `labels`, else by class index), otherwise `per_type_f1.png` when it has per-type `{split}_X_f1` and
      `{split}_X_number` (NER); `split` is `test` if present, else `eval`;
    - `self_training.png` when `results` has `self_training` rounds: kept examples per class and the
      validation figure after each round.

    `log_history` is `trainer.state.log_history`, `results` the run's `all_results.json` figures. Values
    that are not finite numbers are ignored. A plot without data is not written; one that fails is logged
    as a warning and skipped, because plots come after the model and results are safely saved and should
    never turn a finished run into a failed one. Call this on the main process only.
    """
    output = Path(output_dir)
    plots: list[tuple[str, Callable[[], Figure | None]]] = [
        ("training_curves.png", lambda: _training_figure(log_history)),
        ("eval_metrics.png", lambda: _eval_figure(log_history)),
    ]
    split_plot = _split_plot(results, labels)
    if split_plot is not None:
        plots.append(split_plot)
    if results.get("self_training"):
        plots.append(("self_training.png", lambda: _self_training_figure(results["self_training"])))
    written = []
    for name, build in plots:
        path = output / name
        try:
            figure = build()
            if figure is None:
                continue
            atomic_write_bytes(path, _render(figure))
        except Exception:
            logger.warning("Could not write the plot %s", path, exc_info=True)
            continue
        logger.info("Wrote %s", path)
        written.append(path)
    return written


def _self_training_figure(rounds: list[dict]) -> Figure:
    """Pseudo-labelled examples kept per class, and the validation figure, after each round."""
    figure = Figure(figsize=(8, 6.2), layout="constrained")
    kept_ax, metric_ax = figure.subplots(2, 1, sharex=True)
    numbers = [entry["round"] for entry in rounds]
    bottom = [0] * len(rounds)
    for label in rounds[-1]["kept_per_label"]:
        counts = [entry["kept_per_label"].get(label, 0) for entry in rounds]
        kept_ax.bar(numbers, counts, bottom=bottom, label=label)
        bottom = [low + count for low, count in zip(bottom, counts, strict=True)]
    kept_ax.set_ylabel("pseudo-labelled examples kept")
    kept_ax.legend(loc="best", title="class")
    metric_key = next((key for key in rounds[0] if key.startswith("eval_")), None)
    points = [(entry["round"], entry[metric_key]) for entry in rounds if _number(entry.get(metric_key))]
    if points:
        metric_ax.plot(*zip(*points, strict=True), marker="o", label=f"validation {metric_key[5:]}")
        metric_ax.legend(loc="best")
    metric_ax.set_ylabel(metric_key[5:] if metric_key else "validation")
    metric_ax.set_xlabel("self-training round (0: labelled data only)")
    metric_ax.set_xticks(numbers)
    for ax in (kept_ax, metric_ax):
        ax.grid(alpha=0.3)
    figure.suptitle("Self-training")
    return figure


# TRL's GRPO and RLOO trainers log these per step: the mean reward of the sampled completions, and the
# per-token KL of the policy to the reference when --beta > 0.
_RL_CURVES = (("reward", "mean reward of sampled completions", "reward"), ("kl", "KL to the reference", "KL"))


def _rl_figure(log_history: list[dict]) -> Figure | None:
    panels = []
    for key, label, y_label in _RL_CURVES:
        xs, ys = _series(log_history, "step", key)
        if xs:
            panels.append((xs, ys, label, y_label))
    if not panels:
        return None
    figure = _stacked_figure(panels, "training step", "Reinforcement learning", _marker)
    _whole_steps(figure.axes[-1], [x for panel in panels for x in panel[0]])
    return figure


def write_rl_curves(output_dir: str | Path, log_history: list[dict]) -> Path | None:
    """`rl_curves.png`: reward and KL over training steps (rl.py), or None when the run logged neither. Like
    every plot, one that fails is logged as a warning and skipped."""
    path = Path(output_dir) / "rl_curves.png"
    try:
        figure = _rl_figure(log_history)
        if figure is None:
            return None
        atomic_write_bytes(path, _render(figure))
    except Exception:
        logger.warning("Could not write the plot %s", path, exc_info=True)
        return None
    return path
