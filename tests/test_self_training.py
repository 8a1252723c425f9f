"""Self-training on tiny models: the selection of confident pseudo-labels, rounds run through the recipe
(counts, class balance, the plot, logs of every round), a reward function as the labeler, bad inputs."""

import json

import numpy as np
import pytest

from mossrl_hf.reward import load_reward_function
from mossrl_hf.training.self_training import reward_as_probabilities, select_confident
from tests.conftest import write
from tests.test_classification import classify_args
from tests.test_cli import recipe_cli_error

UNLABELED = [
    "a great film",
    "boring and dull",
    "loved every minute",
    "awful plot, awful acting",
    "truly the best",
    "the worst film",
]


@pytest.fixture(scope="module")
def unlabeled_file(tmp_path_factory) -> str:
    return write(tmp_path_factory.mktemp("unlabeled") / "texts.txt", "\n".join(UNLABELED) + "\n")


def test_select_confident_keeps_rows_at_or_above_the_threshold():
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.5, 0.5]])
    rows, classes = select_confident(probabilities, 0.8)
    assert rows.tolist() == [0, 2] and classes.tolist() == [0, 1]
    rows, _ = select_confident(probabilities, 0.0)
    assert rows.tolist() == [0, 1, 2, 3]


def test_reward_scores_become_two_class_probabilities():
    probabilities = reward_as_probabilities([0.95, 0.02, 0.5, 1.3], positive=1)
    np.testing.assert_allclose(probabilities, [[0.05, 0.95], [0.98, 0.02], [0.5, 0.5], [0.0, 1.0]])
    rows, classes = select_confident(probabilities, 0.9)  # >= 0.9 positive, <= 0.1 negative
    assert rows.tolist() == [0, 1, 3] and classes.tolist() == [1, 0, 1]


def test_rounds_train_on_labelled_and_kept_texts(classify_main, tiny_bert_dir, unlabeled_file, tmp_path):
    output = tmp_path / "self"
    argv = classify_args(
        tiny_bert_dir, output, unlabeled_file=unlabeled_file, self_training_rounds=2,
        pseudo_label_threshold=0.0, logging_steps=1,
    )  # fmt: skip
    results = classify_main(argv)
    rounds = results["self_training"]
    assert [entry["round"] for entry in rounds] == [0, 1, 2]
    labelled = rounds[0]["train_examples"]
    assert rounds[0]["kept"] == 0 and labelled == 6  # the sentiment fixture's rows
    for entry in rounds[1:]:  # threshold 0: every text kept, with the model's own labels
        assert entry["kept"] == len(UNLABELED) and sum(entry["kept_per_label"].values()) == len(UNLABELED)
        assert entry["train_examples"] == labelled + len(UNLABELED) and entry["steps"] == 3
        assert 0.0 <= entry["eval_accuracy"] <= 1.0
    assert results["train_steps"] == 9 and results["self_training_kept"] == len(UNLABELED)
    assert (output / "self_training.png").stat().st_size > 0
    assert "Self-trained: after the labelled data, 2 round(s)" in (output / "README.md").read_text()
    saved = json.loads((output / "all_results.json").read_text())
    assert saved["self_training"] == rounds
    steps = [e["step"] for e in json.loads((output / "trainer_state.json").read_text())["log_history"]]
    assert steps == sorted(steps) and max(steps) == 9  # the logs of all rounds, steps counted on


def test_rounds_after_the_first_take_their_own_epochs(classify_main, tiny_bert_dir, unlabeled_file, tmp_path):
    argv = classify_args(
        tiny_bert_dir, tmp_path / "epochs", max_steps=-1, num_train_epochs=1, unlabeled_file=unlabeled_file,
        self_training_epochs=2, pseudo_label_threshold=0.0,
    )  # fmt: skip
    rounds = classify_main(argv)["self_training"]
    # 6 labelled rows in batches of 2: 3 steps; then 2 epochs of 6 + 6 rows: 12 steps.
    assert [entry["steps"] for entry in rounds] == [3, 12]


def test_a_reward_function_labels_the_texts(classify_main, tiny_bert_dir, unlabeled_file, tmp_path):
    labeler_dir = tmp_path / "labeler"
    classify_main(classify_args(tiny_bert_dir, labeler_dir, learning_rate=5e-2, max_steps=6))
    threshold = 0.5
    scores = np.array(load_reward_function(str(labeler_dir), score="probability")(UNLABELED))
    expected = int(((scores >= threshold) | (scores <= 1 - threshold)).sum())
    results = classify_main(
        classify_args(
            tiny_bert_dir, tmp_path / "student", unlabeled_file=unlabeled_file,
            pseudo_label_model=str(labeler_dir), pseudo_label_threshold=threshold,
        )
    )  # fmt: skip
    kept = results["self_training"][1]
    assert kept["kept"] == expected
    assert kept["kept_per_label"]["positive"] == int((scores >= threshold).sum())


@pytest.mark.parametrize(
    ("contents", "flags", "expected"),
    [
        ("good\n\nbad\n", [], ":2: an empty text (blank lines are not skipped)"),
        ("", [], ":1: no texts found (the file is empty)"),
        ("good\n", ["--pseudo_label_threshold", "1.5"], "must be in [0, 1], not 1.5"),
        ("good\n", ["--do_train", "false", "--do_eval"], "--unlabeled_file is for self-training: it needs"),
        (None, ["--self_training_rounds", "2"], "--self_training_rounds is for self-training: give"),
        ("good\n", ["--self_training_epochs", "2"], "drop --max_steps, which would win"),
    ],
)  # fmt: skip
def test_bad_self_training_inputs(tiny_bert_dir, tmp_path, contents, flags, expected):
    argv = classify_args(tiny_bert_dir, tmp_path / "out") + flags
    if contents is not None:
        argv += ["--unlabeled_file", write(tmp_path / "unlabeled.txt", contents)]
    line = recipe_cli_error(argv, recipe="classify")
    assert expected in line
    assert not (tmp_path / "out" / "all_results.json").exists()
