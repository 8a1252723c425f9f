import logging
import math
import os
import stat
import subprocess
import sys
import textwrap

import pytest
from matplotlib import image as mpimg
from PIL import Image

from mossrl_hf import plots, reporting
from mossrl_hf.plots import write_run_plots
from tests.conftest import REPO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NER_RESULTS = {
    "test_f1": 0.81,
    "test_LOC_f1": 0.9,
    "test_LOC_number": 120,
    "test_PER_f1": 1.0,
    "test_PER_number": 80,
    "test_strict_LOC_f1": 0.8,
    "test_strict_LOC_number": 120,
    "test_strict_f1": 0.78,
    "eval_MISC_f1": 0.4,
    "eval_MISC_number": 9,
}
CLASSIFICATION_RESULTS = {
    "test_accuracy": 0.7,
    "test_f1": 0.69,
    "test_confusion_matrix": [[50, 3, 1], [4, 40, 9], [0, 12, 33]],
    "test_positive_f1": 0.7,
    "test_positive_number": 45,
}
LABELS = ["negative", "neutral", "positive"]


def long_history() -> list[dict]:
    history = []
    for step in range(10, 301, 10):
        loss = 2.0 * math.exp(-step / 80) + 0.1
        rate = 5e-5 * (1 - step / 300)
        history.append(
            {"loss": loss, "learning_rate": rate, "grad_norm": 1.0, "epoch": step / 100, "step": step}
        )
        if step % 100 == 0:
            history.append(
                {
                    "eval_loss": 100 / step,
                    "eval_f1": 0.5 + step / 1000,
                    "eval_accuracy": 0.9,
                    "eval_runtime": 1.5,
                    "eval_confusion_matrix": [[1, 2], [3, 4]],
                    "eval_nested": {"a": 1},
                    "epoch": step / 100,
                    "step": step,
                }
            )
    history.append({"train_runtime": 12.0, "train_loss": 0.6, "epoch": 3.0, "step": 300})
    return history


def one_step_history() -> list[dict]:
    return [
        {"loss": 0.7, "learning_rate": 5e-5, "grad_norm": 1.0, "epoch": 1.0, "step": 1},
        {
            "eval_loss": 0.69,
            "eval_f1": 0.4,
            "eval_accuracy": 0.5,
            "eval_runtime": 0.1,
            "epoch": 1.0,
            "step": 1,
        },
        {"train_runtime": 0.3, "train_loss": 0.7, "epoch": 1.0, "step": 1},
    ]


def png_size(path) -> tuple[int, int]:
    """Checks that `path` is a whole PNG that PIL and matplotlib both read, with pixels drawn on it."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    header_size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    with Image.open(path) as picture:
        picture.load()  # decodes every chunk: a truncated file fails here
        assert picture.size == header_size
    pixels = mpimg.imread(path)
    assert pixels.shape[:2] == (header_size[1], header_size[0])
    inked = (pixels[..., :3] < 0.8).any(axis=-1).mean()
    assert 0.005 < inked < 0.9, f"{inked:.1%} of the pixels drawn: an empty or a broken picture"
    return header_size


def names(paths) -> list[str]:
    return [path.name for path in paths]


def leftovers(directory) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".partial"))


def test_long_ner_run_writes_curves_metrics_and_per_type_bars(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mossrl_hf.plots"):
        written = write_run_plots(tmp_path / "run", long_history(), NER_RESULTS)
    assert names(written) == ["training_curves.png", "eval_metrics.png", "per_type_f1.png"]
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == sorted(names(written))
    for path in written:
        width, height = png_size(path)
        assert width >= 600 and height >= 250, "big enough to read"
        assert str(path) in caplog.text
        assert path.stat().st_mode & stat.S_IROTH


def test_one_step_run_still_gets_a_point_per_plot(tmp_path):
    written = write_run_plots(tmp_path, one_step_history(), CLASSIFICATION_RESULTS, LABELS)
    assert names(written) == ["training_curves.png", "eval_metrics.png", "confusion_matrix.png"]
    for path in written:
        png_size(path)
    for figure in (plots._training_figure(one_step_history()), plots._eval_figure(one_step_history())):
        for ax in figure.axes:
            (line,) = ax.lines
            assert list(line.get_xdata()) == [1.0] and line.get_marker() == "o"
            assert tuple(ax.get_xlim()) == (0.0, 2.0), "a lone step sits between whole steps"


def test_training_curves_share_steps_and_show_the_learning_rate(tmp_path):
    figure = plots._training_figure(long_history())
    loss_ax, rate_ax = figure.axes
    assert loss_ax.get_ylabel() == "loss" and rate_ax.get_ylabel() == "learning rate"
    assert list(loss_ax.lines[0].get_xdata()) == list(range(10, 301, 10))
    assert loss_ax.get_shared_x_axes().joined(loss_ax, rate_ax)
    assert rate_ax.get_xlabel() == "training step"


def test_run_shorter_than_logging_steps_plots_its_mean_loss(tmp_path):
    history = [entry for entry in one_step_history() if "loss" not in entry]
    (ax,) = plots._training_figure(history).axes
    assert list(ax.lines[0].get_ydata()) == [0.7]
    assert "mean training loss" in ax.get_legend().get_texts()[0].get_text()
    short = write_run_plots(tmp_path / "short", history, {})
    full = write_run_plots(tmp_path / "full", long_history(), {})
    assert names(short) == names(full) == ["training_curves.png", "eval_metrics.png"]
    assert png_size(short[0])[1] < png_size(full[0])[1], "one panel, not an empty learning-rate panel"


def test_predict_only_runs_get_only_the_split_plot(tmp_path):
    assert names(write_run_plots(tmp_path / "ner", [], NER_RESULTS)) == ["per_type_f1.png"]
    classification = write_run_plots(tmp_path / "classify", [], CLASSIFICATION_RESULTS, LABELS)
    assert names(classification) == ["confusion_matrix.png"]
    reward = {"test_accuracy": 0.6, "test_mean_margin": 0.2, "test_reward_mean": 0.1}
    assert write_run_plots(tmp_path / "reward", [], reward) == []
    assert not (tmp_path / "reward").exists() or not list((tmp_path / "reward").iterdir())


def test_reward_model_plots_accuracy_when_there_is_no_f1(tmp_path):
    history = [
        {"eval_loss": 0.6, "eval_accuracy": 0.55, "eval_mean_margin": 0.1, "epoch": 1.0, "step": 5},
        {"eval_loss": 0.5, "eval_accuracy": 0.65, "eval_mean_margin": 0.3, "epoch": 2.0, "step": 10},
    ]
    metric_ax, loss_ax = plots._eval_figure(history).axes
    assert metric_ax.get_ylabel() == "accuracy" and loss_ax.get_ylabel() == "loss"
    assert list(metric_ax.lines[0].get_ydata()) == [0.55, 0.65]
    assert names(write_run_plots(tmp_path, history, {})) == ["eval_metrics.png"]


def test_values_that_are_not_numbers_are_skipped():
    history = [
        {"eval_f1": [0.1, 0.2], "eval_accuracy": 0.5, "eval_loss": float("nan"), "step": 3},
        {"eval_f1": "n/a", "eval_accuracy": 0.6, "eval_loss": {"x": 1}, "step": 6},
        {"eval_runtime": 1.0, "eval_samples_per_second": 3.0, "step": 7},  # timings only: no evaluation
    ]
    (ax,) = plots._eval_figure(history).axes
    assert ax.get_ylabel() == "accuracy"
    assert list(ax.lines[0].get_xdata()) == [3.0, 6.0]
    assert plots._eval_figure([{"eval_runtime": 1.0, "step": 1}]) is None
    assert plots._training_figure([{"eval_loss": 1.0, "step": 1}]) is None


def test_per_type_bars_use_test_types_and_name_the_split():
    assert plots._entity_types(NER_RESULTS, "test") == ["LOC", "PER"]
    (ax,) = plots._per_type_figure(NER_RESULTS, "test").axes
    assert "test split" in ax.get_title()
    assert [label.get_text() for label in ax.get_yticklabels()] == ["LOC", "PER"]
    assert "0.900  (n=120)" in [text.get_text() for text in ax.texts]
    eval_only = {key: value for key, value in NER_RESULTS.items() if key.startswith("eval_")}
    (name, build) = plots._split_plot(eval_only, None)
    assert name == "per_type_f1.png" and "validation split" in build().axes[0].get_title()


def test_confusion_matrix_names_its_axes_and_counts_its_cells():
    ax = plots._confusion_figure(CLASSIFICATION_RESULTS, "test", LABELS).axes[0]
    assert [label.get_text() for label in ax.get_xticklabels()] == LABELS
    assert [label.get_text() for label in ax.get_yticklabels()] == LABELS
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted label", "gold label")
    assert [text.get_text() for text in ax.texts] == ["50", "3", "1", "4", "40", "9", "0", "12", "33"]
    unnamed = plots._confusion_figure(CLASSIFICATION_RESULTS, "test", ["only", "two"]).axes[0]
    assert [label.get_text() for label in unnamed.get_xticklabels()] == ["0", "1", "2"]


def test_failing_plot_writes_nothing_and_the_others_still_appear(tmp_path, caplog):
    results = {**CLASSIFICATION_RESULTS, "test_confusion_matrix": [[1, 2], [3]]}  # ragged: cannot be drawn
    with caplog.at_level(logging.WARNING, logger="mossrl_hf.plots"):
        written = write_run_plots(tmp_path, long_history(), results, LABELS)
    assert names(written) == ["training_curves.png", "eval_metrics.png"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["eval_metrics.png", "training_curves.png"]
    assert "confusion_matrix.png" in caplog.text


def test_failed_write_keeps_the_previous_plot_whole(tmp_path, monkeypatch):
    previous = tmp_path / "confusion_matrix.png"
    previous.write_bytes(b"previous run")
    replace = os.replace

    def disk_full_for_the_matrix(source, target):
        if str(target).endswith("confusion_matrix.png"):
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(reporting.os, "replace", disk_full_for_the_matrix)
    written = write_run_plots(tmp_path, one_step_history(), CLASSIFICATION_RESULTS, LABELS)
    assert names(written) == ["training_curves.png", "eval_metrics.png"]
    assert previous.read_bytes() == b"previous run"
    assert leftovers(tmp_path) == []


def test_atomic_write_bytes_is_whole_or_nothing(tmp_path):
    target = tmp_path / "sub" / "picture.png"
    with pytest.raises(TypeError):
        reporting.atomic_write_bytes(target, "text is not bytes")
    assert list(target.parent.iterdir()) == []
    reporting.atomic_write_bytes(target, PNG_SIGNATURE + b"\x00\xff")
    assert target.read_bytes() == PNG_SIGNATURE + b"\x00\xff"
    assert target.stat().st_mode & stat.S_IROTH, "readable by others, like the text results"


def test_plots_leave_the_users_backend_alone(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        import matplotlib
        from mossrl_hf.plots import write_run_plots
        from tests.test_plots import NER_RESULTS, long_history
        assert write_run_plots({str(tmp_path)!r}, long_history(), NER_RESULTS)
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        assert matplotlib.rcParams["backend"] == "svg", matplotlib.rcParams["backend"]
        """
    )
    environment = {**os.environ, "MPLBACKEND": "svg", "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
