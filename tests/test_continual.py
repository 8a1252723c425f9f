"""Continual learning on tiny models: the L2-SP and EWC penalties by hand, replay mixing, the old task
scored before and after (forgetting), a grown head's new rows left free, and the bad inputs."""

import json
import math
from pathlib import Path

import datasets
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from mossrl_hf.continual import replay_indices, with_replay
from mossrl_hf.training.continual import Anchor, fisher_information, held_rows, penalty
from tests.conftest import FIXTURES, write
from tests.test_classification import TRAIN, classify_args
from tests.test_cli import recipe_cli_error
from tests.test_ner_recipe import run_args


def only_types(text: str, types: set[str]) -> str:
    """A CoNLL text whose entities of other types are tagged O (an annotation of fewer types)."""
    lines = []
    for line in text.splitlines():
        parts = line.split(" ")
        tag = parts[-1]
        if len(parts) > 1 and tag != "O" and parts[0] != "-DOCSTART-" and tag.split("-", 1)[1] not in types:
            parts[-1] = "O"
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("two-tasks")
    text = (FIXTURES / "ner_train.txt").read_text(encoding="utf-8")
    return {
        "old": write(folder / "old.txt", only_types(text, {"PER", "LOC"})),
        "new": write(folder / "new.txt", only_types(text, {"ORG", "MISC"})),
    }


@pytest.fixture(scope="module")
def old_model(ner_recipe, tiny_bert_dir, two_tasks, tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("old-task")
    old = two_tasks["old"]
    ner_recipe(
        run_args(
            tiny_bert_dir, output, max_steps=6, learning_rate=5e-2,
            train_file=old, validation_file=old, test_file=old,
        )
    )  # fmt: skip
    return str(output)


def tiny_classifier(labels: int = 3) -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
        num_labels=labels,
    )  # fmt: skip
    return BertForSequenceClassification(config)


def test_l2sp_penalty_by_hand():
    model = tiny_classifier()
    parameters = [p for p in model.parameters() if p.requires_grad]
    anchors = [Anchor(p, p.detach().clone()) for p in parameters]
    with torch.no_grad():
        parameters[0].add_(0.5)  # every entry of the word embeddings moves by 0.5
        parameters[-1][1] -= 2.0  # one bias entry moves by 2
    expected = 0.3 / 2 * (parameters[0].numel() * 0.25 + 4.0)
    assert float(penalty(anchors, 0.3).detach()) == pytest.approx(expected, rel=1e-5)


def test_grown_head_new_rows_are_free():
    model = tiny_classifier(labels=5)
    rows = held_rows(model, old_label_count=3)
    head = [model.classifier.weight, model.classifier.bias]
    assert rows == {id(p): 3 for p in head}
    anchors = [Anchor(p, p.detach()[:3].clone(), rows=3) for p in head]
    with torch.no_grad():
        model.classifier.weight[3:] += 10.0  # new labels' rows: no penalty
    assert float(penalty(anchors, 1.0).detach()) == 0.0
    with torch.no_grad():
        model.classifier.bias[0] += 1.0
    assert float(penalty(anchors, 1.0).detach()) == pytest.approx(0.5)
    assert held_rows(model, old_label_count=None) == {} and held_rows(model, 5) == {}


def test_ewc_fisher_is_the_mean_squared_example_gradient_scaled_to_mean_one():
    model = tiny_classifier()
    examples = [
        {"input_ids": torch.tensor([[2, 5, 7, 3]]), "labels": torch.tensor([1])},
        {"input_ids": torch.tensor([[2, 9, 3]]), "labels": torch.tensor([0])},
        {"input_ids": torch.tensor([[2, 4, 4, 6, 3]]), "labels": torch.tensor([2])},
    ]
    parameters = [p for p in model.parameters() if p.requires_grad]
    anchors = [Anchor(p, p.detach().clone()) for p in parameters]
    model.eval()
    by_hand = [torch.zeros_like(p) for p in parameters]
    for example in examples:
        gradients = torch.autograd.grad(model(**example).loss, parameters)
        for total, gradient in zip(by_hand, gradients, strict=True):
            total += gradient.pow(2) / len(examples)
    mean = sum(float(t.sum()) for t in by_hand) / sum(t.numel() for t in by_hand)
    model.train()
    fisher = fisher_information(model, examples, anchors)
    assert model.training  # mode restored
    for found, expected in zip(fisher, by_hand, strict=True):
        torch.testing.assert_close(found, expected / mean, rtol=1e-4, atol=1e-6)
    assert sum(float(f.sum()) for f in fisher) / sum(f.numel() for f in fisher) == pytest.approx(1.0)
    anchors[0].importance = fisher[0]
    with torch.no_grad():
        parameters[0].add_(1.0)
    assert float(penalty(anchors[:1], 2.0).detach()) == pytest.approx(float(fisher[0].sum()), rel=1e-5)


def test_replay_rows_repeat_whole_passes_then_sample():
    rows = replay_indices(4, 10, seed=1)
    assert len(rows) == 10 and sorted(rows[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(set(rows[8:])) == 2 and rows == replay_indices(4, 10, seed=1)
    train = datasets.Dataset.from_dict({"x": list(range(8))})
    old = datasets.Dataset.from_dict({"x": [100, 101, 102]})
    mixed = with_replay(train, old, 0.25, seed=0)
    assert mixed["x"][:8] == list(range(8)) and len(mixed) == 10
    assert set(mixed["x"][8:]) <= {100, 101, 102}
    assert with_replay(train, None, 0.25, seed=0) is train
    assert with_replay(train, old, 0.0, seed=0) is train  # the old data only for EWC's Fisher


def ner_results(output) -> dict:
    return json.loads((output / "all_results.json").read_text())


def test_ner_continues_on_new_types_and_reports_forgetting(ner_recipe, old_model, two_tasks, tmp_path):
    old_results = ner_results(Path(old_model))
    output = tmp_path / "continued"
    new, old = two_tasks["new"], two_tasks["old"]
    results = ner_recipe(
        run_args(
            old_model, output, max_steps=4, learning_rate=5e-2, train_file=new, validation_file=new,
            test_file=new, replay_file=old, replay_ratio=0.5, continual_regularization="ewc",
            continual_lambda=0.5, previous_test_file=old, logging_steps=1,
        )
    )  # fmt: skip
    # Before training the grown model predicts as the old one did: its own test score on the same file.
    assert results["previous_before_f1"] == pytest.approx(old_results["test_f1"])
    assert results["forgetting_f1"] == pytest.approx(
        results["previous_before_f1"] - results["previous_after_f1"], abs=1e-6
    )
    old_labels = json.loads((Path(old_model) / "config.json").read_text())["id2label"]
    labels = json.loads((output / "config.json").read_text())["id2label"]
    assert {label.split("-")[-1] for label in old_labels.values()} == {"O", "PER", "LOC"}
    assert all(labels[key] == value for key, value in old_labels.items())  # old ids kept
    assert {"B-ORG", "B-MISC"} <= set(labels.values()) and len(labels) > len(old_labels)
    card = (output / "README.md").read_text()
    assert "| old task's test, before |" in card and "| old task's test, after |" in card
    report = (output / "previous_after_report.txt").read_text()
    assert "ORG" not in report and "PER" in report  # scored over the old types only
    penalties = [e["continual_penalty"] for e in json.loads((output / "trainer_state.json").read_text())[
        "log_history"] if "continual_penalty" in e]  # fmt: skip
    assert penalties and all(value >= 0 for value in penalties) and max(penalties) > 0


def encoder_distance(start_dir, output) -> float:
    from safetensors.torch import load_file

    start, end = load_file(f"{start_dir}/model.safetensors"), load_file(f"{output}/model.safetensors")
    return math.sqrt(sum(float((end[k] - start[k]).pow(2).sum()) for k in start if "encoder" in k))


def test_l2sp_keeps_the_encoder_near_its_start(classify_main, scorer_dir, tmp_path):
    distances = {}
    for method, strength in (("none", 1.0), ("l2sp", 1e4)):
        output = tmp_path / method
        classify_main(
            classify_args(
                scorer_dir, output, max_steps=4, learning_rate=1e-2,
                continual_regularization=method, continual_lambda=strength, replay_file=TRAIN,
                previous_test_file=TRAIN,
            )
        )  # fmt: skip
        distances[method] = encoder_distance(scorer_dir, output)
        results = json.loads((output / "all_results.json").read_text())
        assert "forgetting_accuracy" in results
    assert distances["l2sp"] < distances["none"] / 5  # Adam still moves each weight by ~lr a step


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--continual_regularization", "ewc"], "give --replay_file"),
        (["--replay_ratio", "0.5"], "--replay_ratio mixes in the old training data: give --replay_file"),
        (["--continual_regularization", "l2sp", "--continual_lambda", "0"], "must be above 0, not 0.0"),
        (["--replay_file", TRAIN, "--do_train", "false", "--do_eval"], "--replay_file acts on training"),
        (["--continual_regularization", "sgd"], "must be one of none, l2sp, ewc"),
    ],
)  # fmt: skip
def test_bad_continual_options(tiny_bert_dir, tmp_path, flags, expected):
    line = recipe_cli_error(classify_args(tiny_bert_dir, tmp_path / "out") + flags, recipe="classify")
    assert expected in line


def test_replay_labels_outside_the_model_are_refused(scorer_dir, tmp_path):
    replay = write(tmp_path / "replay.csv", "text,label\nfine film,positive\nodd one,neutral\n")
    argv = classify_args(scorer_dir, tmp_path / "out") + ["--replay_file", replay]
    line = recipe_cli_error(argv, recipe="classify")
    assert line.startswith(f"{replay}:3:") and "'neutral' is not in the label set" in line
    assert not (tmp_path / "out" / "all_results.json").exists()


def test_ewc_with_lora_holds_the_adapter_weights(classify_main, scorer_dir, tmp_path):
    output = tmp_path / "lora-ewc"
    argv = classify_args(
        scorer_dir, output, peft_method="lora", continual_regularization="ewc", replay_file=TRAIN,
        continual_lambda=100.0, learning_rate=1e-2, logging_steps=1,
    )  # fmt: skip
    classify_main(argv)
    log = json.loads((output / "trainer_state.json").read_text())["log_history"]
    penalties = [entry["continual_penalty"] for entry in log if "continual_penalty" in entry]
    assert penalties[0] == 0.0 and max(penalties) > 0  # the adapter (and head) moved, and were held
    assert (output / "adapter_config.json").exists()
