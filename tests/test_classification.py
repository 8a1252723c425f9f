import json
import math
import subprocess
import sys

import numpy as np
import pytest

from mossrl_hf.configs import ClassificationDataArguments
from mossrl_hf.data.classification_data import load_classification_data, resolve_class_labels
from mossrl_hf.errors import ConfigError, DataError
from mossrl_hf.metrics.classification_metrics import classification_metrics
from mossrl_hf.tasks.classification import class_weights
from tests.conftest import FIXTURES, REPO, recipe_error, write

TRAIN = str(FIXTURES / "sentiment_train.csv")


def load(**kwargs):
    args = ClassificationDataArguments(**kwargs)
    splits = load_classification_data(args)
    return splits, resolve_class_labels(splits, args, None, True)


def test_csv_tsv_json_read_alike(tmp_path):
    tsv = write(tmp_path / "a.tsv", 'sentence\tlabel\nit is "great" \t1\nbad\t0\n')
    splits, labels = load(train_file=tsv, text_column="sentence")
    assert splits["train"].texts == ['it is "great" ', "bad"] and labels == ["0", "1"]
    jsonl = write(tmp_path / "a.jsonl", '{"text": "good", "label": 1}\n{"text": "bad", "label": 0}\n')
    splits, labels = load(train_file=jsonl, label_names=["negative", "positive"])
    assert splits["train"].labels == ["positive", "negative"] and labels == ["negative", "positive"]
    splits, labels = load(train_file=TRAIN)
    assert splits["train"].texts[0] == "a great film, loved it" and labels == ["negative", "positive"]
    assert splits["train"].lines[:2] == [2, 3]


def test_conll_has_entity_labels(tmp_path):
    splits, labels = load(train_file=str(FIXTURES / "ner_train.txt"), labels_from="conll_has_entity")
    assert splits["train"].texts[0] == "John Smith visited London ."
    assert labels == ["no_entity", "entity"] and splits["train"].labels == ["entity"] * 4
    path = write(tmp_path / "t.txt", "-DOCSTART- -X- O\n\nNothing O\nhere O\n\nAnn B-PER\n")
    splits, _ = load(train_file=path, labels_from="conll_has_entity")
    assert splits["train"].labels == ["no_entity", "entity"] and splits["train"].lines == [3, 6]


def test_random_subset_is_seeded_and_in_file_order():
    first, _ = load(train_file=TRAIN, max_train_samples=3, subset_seed=42)
    again, _ = load(train_file=TRAIN, max_train_samples=3, subset_seed=42)
    assert first["train"].texts == again["train"].texts
    lines = first["train"].lines
    assert lines == sorted(lines) and len(lines) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("text,label\nok,positive\n,negative\n", ":3: empty or non-text 'text': ''"),
        ("txt,label\nok,positive\n", ":2: missing column 'text' (has: txt, label)"),
        ("text,label\nok,positive,extra\n", ":2: expected 2 fields (as in the header), found 3"),
        ("", ":1: empty file (a header row is needed)"),
        ("text,label\n", ":1: no examples found (the file is empty or holds only a header)"),
    ],
)
def test_bad_rows(tmp_path, content, expected):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(DataError) as caught:
        load(train_file=path)
    assert str(caught.value).startswith(f"{path}{expected}")


def test_label_outside_the_training_labels(tmp_path):
    test = write(tmp_path / "test.csv", "text,label\nfine,positive\nmeh,neutral\n")
    with pytest.raises(DataError, match=r"test.csv:3: label 'neutral' is not in the label set"):
        load(train_file=TRAIN, test_file=test)


def test_malformed_json_line(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "a", "label": "x"}\n{"text": \n')
    with pytest.raises(DataError, match=r"a.jsonl:2: malformed JSON"):
        load(train_file=path)


def test_binary_metrics_by_hand():
    gold = np.array([1, 1, 0, 0, 1])
    probabilities = np.array([[0.1, 0.9], [0.6, 0.4], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]])
    result = classification_metrics(gold, probabilities, ["neg", "pos"])
    # predicted 1, 0, 0, 1, 1: TP 2, FN 1, FP 1, TN 1
    assert result["accuracy"] == pytest.approx(3 / 5)
    assert result["precision"] == pytest.approx(2 / 3) and result["recall"] == pytest.approx(2 / 3)
    assert result["confusion_matrix"] == [[1, 1], [1, 2]]
    # ROC-AUC: positive scores .9 .4 .8 vs negative .2 .7 -> pairs won: 5 of 6
    assert result["roc_auc"] == pytest.approx(5 / 6)
    assert result["neg_number"] == 2 and result["pos_f1"] == pytest.approx(2 / 3)


def test_multiclass_metrics_are_macro():
    gold = np.array([0, 1, 2, 2])
    probabilities = np.eye(3)[[0, 1, 1, 2]]
    result = classification_metrics(gold, probabilities, ["a", "b", "c"])
    assert result["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert "roc_auc" not in result


def test_class_weights():
    splits, labels = load(train_file=str(FIXTURES / "ner_train.txt"), labels_from="conll_has_entity")
    with pytest.raises(ConfigError, match="no training example"):
        class_weights("auto", splits["train"], labels)
    splits, labels = load(train_file=TRAIN)
    assert class_weights("auto", splits["train"], labels) == [1.0, 1.0]
    assert class_weights("2,1", splits["train"], labels) == [2.0, 1.0]
    assert class_weights("none", splits["train"], labels) is None
    with pytest.raises(ConfigError):
        class_weights("1,2,3", splits["train"], labels)


# --- the recipe and the reward function --------------------------------------------------------------


@pytest.fixture(scope="module")
def classify_recipe():
    import runpy

    return runpy.run_path(str(REPO / "recipes" / "classify.py"), run_name="classify_recipe")["main"]


def classify_args(model_dir, output, **extra):
    args = {
        "model_name_or_path": model_dir,
        "output_dir": str(output),
        "train_file": TRAIN,
        "validation_file": TRAIN,
        "test_file": TRAIN,
        "max_steps": 3,
        "per_device_train_batch_size": 2,
        "learning_rate": 1e-3,
        "save_strategy": "no",
        "disable_tqdm": "true",
        **extra,
    }
    return [token for key, value in args.items() for token in (f"--{key}", str(value))]


@pytest.fixture(scope="module")
def classifier_dir(classify_recipe, tiny_bert_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("classifier")
    classify_recipe(classify_args(tiny_bert_dir, output, class_weights="auto"))
    return output


def test_classify_run_writes_everything(classifier_dir):
    results = json.loads((classifier_dir / "all_results.json").read_text())
    for key in ("eval_accuracy", "test_accuracy", "test_f1", "test_precision", "test_recall", "test_roc_auc"):
        assert 0.0 <= results[key] <= 1.0, key
    assert results["world_size"] == 1 and len(results["test_confusion_matrix"]) == 2
    lines = (classifier_dir / "test_predictions.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["text"] for r in records] == load(train_file=TRAIN)[0]["train"].texts
    assert all(math.isclose(sum(r["probabilities"].values()), 1.0, abs_tol=1e-6) for r in records)
    assert all(r["predicted"] == max(r["probabilities"], key=r["probabilities"].get) for r in records)
    assert "Confusion matrix" in (classifier_dir / "test_report.txt").read_text()


def test_pipeline_returns_label_names(classifier_dir):
    from transformers import pipeline

    output = pipeline("text-classification", model=str(classifier_dir))("a great film")
    assert output[0]["label"] in {"negative", "positive"}


def test_reward_function_order_and_values(classifier_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mossrl_hf.reward import load_reward_function

    texts = ["great fun", "dull and boring plot with awful acting", "the best", "boring"]
    reward = load_reward_function(str(classifier_dir), batch_size=2)
    scores = reward(texts)
    model = AutoModelForSequenceClassification.from_pretrained(classifier_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(classifier_dir)
    with torch.no_grad():
        for text, score in zip(texts, scores, strict=True):
            probability = torch.softmax(model(**tokenizer(text, return_tensors="pt")).logits, -1)[0, 1].item()
            assert score == pytest.approx(probability, abs=1e-5)
    logits = load_reward_function(str(classifier_dir), positive_label="negative", score="logit")(texts)
    assert len(logits) == 4 and logits != scores


def test_reward_function_replays_a_bf16_run(classify_recipe, tiny_bert_dir, tmp_path):
    from mossrl_hf.reward import load_reward_function

    classify_recipe(classify_args(tiny_bert_dir, tmp_path, bf16="true"))
    records = [json.loads(line) for line in (tmp_path / "test_predictions.jsonl").read_text().splitlines()]
    reward = load_reward_function(str(tmp_path), positive_label="positive")
    assert reward.autocast == "bfloat16"
    scores = reward([r["text"] for r in records])
    assert [round(score, 6) for score in scores] == [r["probabilities"]["positive"] for r in records]


def test_reward_command(classifier_dir, tmp_path):
    texts = write(tmp_path / "in.jsonl", '{"text": "great fun"}\n{"text": "awful"}\n')
    output = tmp_path / "scores.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mossrl_hf.reward",
            "--model",
            str(classifier_dir),
            "--input",
            texts,
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["text"] for r in records] == ["great fun", "awful"] and all(
        0 <= r["score"] <= 1 for r in records
    )


def test_classify_lora_saves_the_head(classify_recipe, tiny_bert_dir, tmp_path):
    from safetensors.torch import load_file

    classify_recipe(classify_args(tiny_bert_dir, tmp_path / "lora", use_lora="true", lora_r=4))
    adapter = load_file(str(tmp_path / "lora" / "adapter_model.safetensors"))
    assert any("classifier" in key for key in adapter) and any("lora_A" in key for key in adapter)
    from mossrl_hf.reward import load_reward_function

    assert len(load_reward_function(str(tmp_path / "lora"))(["great fun"])) == 1


def test_classify_bad_input_is_one_line(tiny_bert_dir, tmp_path):
    bad = write(tmp_path / "bad.csv", "text,label\nfine,positive\n  ,negative\n")
    last_line = recipe_error("classify", tiny_bert_dir, bad, tmp_path / "out")
    assert last_line == f"{bad}:3: empty or non-text 'text': '  '"


def test_saved_dataset_with_class_labels(tmp_path):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["no", "yes"])}
    )
    dataset = datasets.Dataset.from_dict({"text": ["a", "b"], "label": [1, 0]}, features=features)
    datasets.DatasetDict({"train": dataset, "dev": dataset}).save_to_disk(tmp_path / "saved")
    splits, labels = load(dataset_name=str(tmp_path / "saved"))
    assert set(splits) == {"train", "validation"} and splits["validation"].labels == ["yes", "no"]
    assert labels == ["no", "yes"]


def test_same_seed_same_metrics(classify_recipe, tiny_bert_dir, tmp_path):
    first = classify_recipe(classify_args(tiny_bert_dir, tmp_path / "a", max_steps=2))
    second = classify_recipe(classify_args(tiny_bert_dir, tmp_path / "b", max_steps=2))
    assert {k: v for k, v in first.items() if "runtime" not in k and "per_second" not in k} == {
        k: v for k, v in second.items() if "runtime" not in k and "per_second" not in k
    }
