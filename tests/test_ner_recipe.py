"""Whole runs of recipes/ner.py on a tiny random BERT: the files it writes, the figures, the round trips."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import FIXTURES, recipe_error, write

LONG_SENTENCE = [
    ("john", "B-PER"),
    ("smith", "I-PER"),
    ("visited", "O"),
    ("london", "B-LOC"),
    (".", "O"),
] * 80


@pytest.fixture
def long_test_file(tmp_path) -> str:
    """The small test file plus one 400-word sentence (longer than --max_seq_length)."""
    text = (
        (FIXTURES / "ner_test.txt").read_text() + "\n" + "".join(f"{w} NNP {t}\n" for w, t in LONG_SENTENCE)
    )
    return write(tmp_path / "test_long.txt", text)


def run_args(model_dir, output_dir, **extra) -> list[str]:
    args = {
        "model_name_or_path": model_dir,
        "output_dir": str(output_dir),
        "max_steps": 2,
        "per_device_train_batch_size": 2,
        "learning_rate": 1e-3,
        "max_seq_length": 32,
        "stride": 8,
        "train_file": str(FIXTURES / "ner_train.txt"),
        "validation_file": str(FIXTURES / "ner_test.txt"),
        "test_file": str(FIXTURES / "ner_test.txt"),
        "save_strategy": "no",
        "disable_tqdm": "true",
        **extra,
    }
    argv = []
    for key, value in args.items():
        argv += [f"--{key}"] if value is True else [f"--{key}", str(value)]
    return argv


def conll_sentences(path: Path) -> list[list[list[str]]]:
    blocks = path.read_text().split("\n\n")
    return [[line.split(" ") for line in block.splitlines()] for block in blocks if block.strip()]


def test_two_step_run_writes_everything(ner_recipe, tiny_bert_dir, tmp_path, long_test_file):
    output = tmp_path / "run"
    results = ner_recipe(run_args(tiny_bert_dir, output, test_file=long_test_file))

    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "all_results.json",
        "run_config.json",
        "environment.json",
        "test_predictions.conll",
        "test_report.txt",
        "eval_report.txt",
    ):
        assert (output / name).is_file(), name
    all_results = json.loads((output / "all_results.json").read_text())
    assert all_results == json.loads(json.dumps(results | {"world_size": 1}))
    for key in (
        "eval_f1",
        "eval_precision",
        "eval_recall",
        "test_f1",
        "test_precision",
        "test_recall",
        "test_strict_f1",
        "eval_strict_precision",
        "test_PER_f1",
        "test_strict_LOC_recall",
    ):
        assert 0.0 <= all_results[key] <= 1.0, key
    assert (
        all_results["world_size"] == 1 and all_results["train_global_step"]
        if "train_global_step" in all_results
        else True
    )

    config = json.loads((output / "config.json").read_text())
    assert set(config["id2label"].values()) == {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "B-MISC"}
    environment = json.loads((output / "environment.json").read_text())
    assert len(environment["data_files"]["train"]["sha256"]) == 64
    assert environment["packages"]["transformers"]

    # One line per input word, in input order, and the 400-word sentence whole.
    sentences = conll_sentences(output / "test_predictions.conll")
    assert [len(s) for s in sentences] == [7, 5, 400]
    assert all(len(line) == 3 for s in sentences for line in s)
    assert [line[0] for line in sentences[2]] == [w for w, _ in LONG_SENTENCE]
    assert [line[1] for line in sentences[2]] == [t for _, t in LONG_SENTENCE]

    # The encoder was trained: its weights moved away from the checkpoint's.
    before = load_file(str(Path(tiny_bert_dir) / "model.safetensors"))
    after = load_file(str(output / "model.safetensors"))
    key = next(k for k in after if k.endswith("encoder.layer.0.attention.self.query.weight"))
    before_key = next(k for k in before if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert not torch.equal(before[before_key], after[key])


def test_pipeline_loads_the_saved_model(ner_recipe, tiny_bert_dir, tmp_path):
    from transformers import pipeline

    output = tmp_path / "run"
    ner_recipe(run_args(tiny_bert_dir, output, max_steps=1))
    tagger = pipeline("token-classification", model=str(output))
    labels = set(json.loads((output / "config.json").read_text())["id2label"].values())
    assert {entity["entity"] for entity in tagger("john smith visited london")} <= labels


def test_same_seed_same_metrics(ner_recipe, tiny_bert_dir, tmp_path):
    first = ner_recipe(run_args(tiny_bert_dir, tmp_path / "a", max_steps=3))
    second = ner_recipe(run_args(tiny_bert_dir, tmp_path / "b", max_steps=3))
    for key in first:
        if "runtime" not in key and "per_second" not in key:
            assert first[key] == second[key], key
    assert (tmp_path / "a" / "test_predictions.conll").read_text() == (
        tmp_path / "b" / "test_predictions.conll"
    ).read_text()


def test_scoring_a_saved_model_reproduces_its_figures(ner_recipe, tiny_bert_dir, tmp_path):
    trained = tmp_path / "trained"
    results = ner_recipe(run_args(tiny_bert_dir, trained, max_steps=3))
    scored = tmp_path / "scored"
    argv = [
        "--model_name_or_path",
        str(trained),
        "--output_dir",
        str(scored),
        "--do_eval",
        "--do_predict",
        "--validation_file",
        str(FIXTURES / "ner_test.txt"),
        "--test_file",
        str(FIXTURES / "ner_test.txt"),
        "--max_seq_length",
        "32",
        "--stride",
        "8",
        "--disable_tqdm",
        "true",
    ]
    rescored = ner_recipe(argv)
    assert "train_loss" not in rescored
    assert rescored["test_f1"] == results["test_f1"] and rescored["eval_f1"] == results["eval_f1"]
    assert (scored / "test_predictions.conll").read_text() == (trained / "test_predictions.conll").read_text()
    assert not (scored / "model.safetensors").exists()


def test_lora_adapter_round_trip(ner_recipe, tiny_bert_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    from mossrl_hf.predict import load_tagger

    output = tmp_path / "lora"
    ner_recipe(run_args(tiny_bert_dir, output, use_lora=True, lora_r=4, max_steps=3))
    assert (output / "adapter_model.safetensors").is_file() and not (output / "model.safetensors").exists()
    adapter = load_file(str(output / "adapter_model.safetensors"))
    assert any("classifier" in key for key in adapter), "the head must be saved with the adapter"
    assert any("lora_A" in key for key in adapter)

    # Plain peft: base model with the saved label config, then the adapter.
    config = AutoConfig.from_pretrained(output)
    base = AutoModelForTokenClassification.from_pretrained(tiny_bert_dir, config=config)
    model = PeftModel.from_pretrained(base, output).eval()
    tokenizer = AutoTokenizer.from_pretrained(output)
    words = ["john", "smith", "visited", "london", "."]
    batch = tokenizer([words], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**batch).logits.argmax(-1)[0].tolist()
    first_pieces = [predicted[i] for i, w in enumerate(batch.word_ids(0)) if w is not None]
    expected_tags = [config.id2label[i] for i in first_pieces]
    assert load_tagger(str(output))([words])[0]["tags"] == expected_tags

    # The classifier head was trained, not left at its random initialisation.
    head = next(v for k, v in adapter.items() if "classifier" in k and k.endswith("weight"))
    fresh = AutoModelForTokenClassification.from_pretrained(tiny_bert_dir, config=config).classifier.weight
    assert not torch.equal(head, fresh)


def test_roberta_runs(ner_recipe, tiny_roberta_dir, tmp_path):
    results = ner_recipe(run_args(tiny_roberta_dir, tmp_path / "roberta"))
    assert "test_f1" in results
    assert len(conll_sentences(tmp_path / "roberta" / "test_predictions.conll")) == 2


def test_nothing_but_test_data_without_a_trained_model_is_refused(ner_recipe, tiny_bert_dir, tmp_path):
    from mossrl_hf.errors import ConfigError

    with pytest.raises(ConfigError, match="no label set"):
        ner_recipe(
            [
                "--model_name_or_path",
                tiny_bert_dir,
                "--output_dir",
                str(tmp_path),
                "--test_file",
                str(FIXTURES / "ner_test.txt"),
            ]
        )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Ann B-PER\nruns O X\n", ":2: expected 2 columns (as on line 1), found 3: 'runs O X'"),
        ("", ":1: no sentences found"),
    ],
)
def test_bad_input_is_one_line_without_traceback(tiny_bert_dir, tmp_path, content, expected):
    bad = write(tmp_path / "bad.txt", content)
    last_line = recipe_error("ner", tiny_bert_dir, bad, tmp_path / "out")
    assert last_line.startswith(f"{bad}{expected}")


def test_length_grouped_training_still_scores_in_order(ner_recipe, tiny_bert_dir, tmp_path, long_test_file):
    # Trainer length-groups evaluation batches too with this strategy; predictions must still map back.
    output = tmp_path / "grouped"
    ner_recipe(
        run_args(
            tiny_bert_dir,
            output,
            test_file=long_test_file,
            train_sampling_strategy="group_by_length",
            per_device_eval_batch_size=2,
        )
    )
    sentences = conll_sentences(output / "test_predictions.conll")
    assert [len(s) for s in sentences] == [7, 5, 400]


def test_best_model_and_resume_from_checkpoint(ner_recipe, tiny_bert_dir, tmp_path):
    output = tmp_path / "ckpt"
    common = {"save_strategy": "steps", "save_steps": 1, "eval_strategy": "steps", "eval_steps": 1}
    ner_recipe(
        run_args(tiny_bert_dir, output, **common, load_best_model_at_end=True, metric_for_best_model="f1")
    )
    assert (output / "checkpoint-2").is_dir()
    results = ner_recipe(
        run_args(tiny_bert_dir, output, **common, max_steps=3, resume_from_checkpoint="true")
    )
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["global_step"] == 3 and "test_f1" in results


def test_new_labels_grow_the_head_and_keep_the_trained_rows(ner_recipe, tiny_bert_dir, tmp_path, caplog):
    from transformers import AutoModelForTokenClassification

    from mossrl_hf import modeling

    first = tmp_path / "first"
    ner_recipe(run_args(tiny_bert_dir, first, max_steps=1))
    first_ids = json.loads((first / "config.json").read_text())["id2label"]
    old_labels = [first_ids[str(index)] for index in range(len(first_ids))]
    other = write(tmp_path / "other.txt", "Acme B-COMPANY\nrose O\n\nBig B-COMPANY\nCo I-COMPANY\n")
    second = [
        "--model_name_or_path", str(first), "--train_file", other, "--output_dir", str(tmp_path / "second"),
        "--disable_tqdm", "true", "--save_strategy", "no",
    ]  # fmt: skip
    with caplog.at_level("WARNING", logger="mossrl_hf"):
        ner_recipe([*second, "--max_steps", "1"])
    assert any("Growing the label set" in record.getMessage() for record in caplog.records)
    config = json.loads((tmp_path / "second" / "config.json").read_text())
    grown = [config["id2label"][str(index)] for index in range(len(config["id2label"]))]
    assert grown == [*old_labels, "B-COMPANY", "I-COMPANY"]  # old ids kept, new ones after
    # Before any training step the old rows are the trained ones, bit for bit; the new rows are new.
    arguments = SimpleNamespace(
        model_name_or_path=str(first), tokenizer_name_or_path=None, model_revision="main", cache_dir=None,
        trust_remote_code=False, allow_pickle_weights=False, dropout_overrides={}, case_markers=False,
    )  # fmt: skip
    model = modeling.load_classifier(arguments, grown, AutoModelForTokenClassification)
    trained = load_file(first / "model.safetensors")
    count = len(old_labels)
    assert torch.equal(model.classifier.weight[:count], trained["classifier.weight"])
    assert torch.equal(model.classifier.bias[:count], trained["classifier.bias"])
    assert model.classifier.weight.shape[0] == len(grown) and model.classifier.weight[count:].abs().sum() > 0
    # --label_names still starts a head afresh, with only the labels given.
    with caplog.at_level("WARNING", logger="mossrl_hf"):
        ner_recipe([*second, "--output_dir", str(tmp_path / "third"), "--max_steps", "1",
                    "--label_names", "O", "B-COMPANY", "I-COMPANY"])  # fmt: skip
    assert any("Re-heading" in record.getMessage() for record in caplog.records)
    config = json.loads((tmp_path / "third" / "config.json").read_text())
    assert sorted(config["id2label"].values()) == ["B-COMPANY", "I-COMPANY", "O"]
