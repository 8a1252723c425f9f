"""What a finished run delivers: the model card, the plots, a merged LoRA model, TensorBoard logs, and a Hub
push that fails cleanly offline after everything is saved."""

import json
import os
import subprocess
import sys

import torch
from huggingface_hub import ModelCard

from tests.conftest import FIXTURES, REPO
from tests.test_ner_recipe import run_args


def test_merged_lora_run_delivers_a_standalone_model_card_and_plots(ner_recipe, tiny_bert_dir, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    output = tmp_path / "merged"
    results = ner_recipe(
        run_args(tiny_bert_dir, output, use_lora=True, merge_lora=True, max_steps=3, logging_steps=1)
    )
    assert (output / "model.safetensors").is_file() and not (output / "adapter_config.json").exists()
    model = AutoModelForTokenClassification.from_pretrained(output)  # plain transformers, no peft
    assert not any("lora" in name for name, _ in model.named_parameters())
    assert set(model.config.id2label.values()) >= {"O", "B-PER", "I-PER", "B-LOC"}
    # The merged model predicts what the run evaluated: re-scoring it gives the same test F1.
    rescored = ner_recipe(
        [
            *("--model_name_or_path", str(output), "--do_predict", "--output_dir", str(tmp_path / "again")),
            *("--test_file", str(FIXTURES / "ner_test.txt"), "--max_seq_length", "32", "--stride", "8"),
        ]
    )
    assert rescored["test_f1"] == results["test_f1"]
    tokenizer = AutoTokenizer.from_pretrained(output)
    with torch.no_grad():
        model(**tokenizer("john smith visited london", return_tensors="pt"))

    card = ModelCard.load(output / "README.md")
    assert card.data.pipeline_tag == "token-classification" and "lora" in card.data.tags
    reported = card.data.eval_results
    assert any(r.metric_type == "f1" and r.metric_value == round(results["test_f1"], 4) for r in reported)
    assert "AutoModelForTokenClassification.from_pretrained" in card.text
    for name in ("training_curves.png", "eval_metrics.png", "per_type_f1.png"):
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_classification_run_plots_its_confusion_matrix(tiny_bert_dir, tmp_path):
    import runpy

    main = runpy.run_path(str(REPO / "recipes" / "classify.py"), run_name="classify_recipe")["main"]
    output = tmp_path / "classify"
    data = str(FIXTURES / "sentiment_train.csv")
    main(
        [
            *("--model_name_or_path", tiny_bert_dir, "--output_dir", str(output), "--train_file", data),
            *("--validation_file", data, "--test_file", data, "--max_steps", "2", "--save_strategy", "no"),
        ]
    )
    assert (output / "confusion_matrix.png").is_file() and (output / "training_curves.png").is_file()
    card = ModelCard.load(output / "README.md")
    assert card.data.pipeline_tag == "text-classification"
    assert "positive" in card.text and "negative" in card.text


def test_tensorboard_logs(ner_recipe, tiny_bert_dir, tmp_path):
    output = tmp_path / "tb"
    ner_recipe(run_args(tiny_bert_dir, output, report_to="tensorboard"))
    assert list(output.rglob("events.out.tfevents.*"))


def test_offline_push_fails_in_one_line_after_saving_everything(tiny_bert_dir, tmp_path):
    output = tmp_path / "pushed"
    command = [sys.executable, str(REPO / "recipes" / "ner.py"), *run_args(tiny_bert_dir, output)]
    command += ["--push_to_hub", "--hub_model_id", "someone/tiny-ner"]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("push to the Hub (someone/tiny-ner) failed") and str(output) in last
    assert json.loads((output / "all_results.json").read_text())["test_f1"] >= 0
    assert (output / "model.safetensors").is_file()
    assert ModelCard.load(output / "README.md").data.model_name == "tiny-ner"
    assert not list(output.glob("*.partial"))
