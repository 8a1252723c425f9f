"""The training knobs on tiny models: early stopping, dropout overrides, layer-wise learning-rate decay, case
markers; alone and with the parameter-efficient methods."""

import json

import pytest
import torch

from tests.test_cli import recipe_cli_error
from tests.test_ner_recipe import run_args
from tests.test_peft_methods import tagger_matches_recipe


def without_save_strategy(argv: list[str]) -> list[str]:
    """run_args' argv minus its `--save_strategy no`, so the recipe's own choice shows."""
    index = argv.index("--save_strategy")
    return argv[:index] + argv[index + 2 :]


@pytest.mark.parametrize("method", ["none", "lora"])
def test_early_stopping_stops_and_keeps_the_best(ner_recipe, tiny_bert_dir, tmp_path, method, caplog):
    """A threshold no change can pass: the first evaluation is the best, the second runs out the patience
    of 1, so 2 of the 6 epochs run (2 steps each), and the best (first) checkpoint is the one kept."""
    argv = run_args(
        tiny_bert_dir,
        tmp_path,
        max_steps=-1,
        num_train_epochs=6,
        early_stopping_patience=1,
        early_stopping_threshold=10.0,
        peft_method=method,
    )
    with caplog.at_level("WARNING", logger="mossrl_hf"):
        ner_recipe(without_save_strategy(argv))
    assert "Early stopping at step 4 (epoch 2.00): f1 has not improved" in caplog.text
    state = json.loads((tmp_path / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["epoch"] == 2.0
    assert state["best_model_checkpoint"].endswith("checkpoint-2")
    training = json.loads((tmp_path / "run_config.json").read_text())["RecipeTrainingArguments"]
    assert training["metric_for_best_model"] == "f1" and training["load_best_model_at_end"]
    assert training["save_strategy"] == "epoch"  # followed the evaluation schedule
    results = json.loads((tmp_path / "all_results.json").read_text())
    first_eval = next(entry for entry in state["log_history"] if "eval_f1" in entry)
    assert results["eval_f1"] == pytest.approx(first_eval["eval_f1"])  # the best model was evaluated


def test_early_stopping_errors(tmp_path, ner_files):
    common = ["--output_dir", str(tmp_path), "--early_stopping_patience", "2"]
    line = recipe_cli_error([*common, "--train_file", ner_files["train_file"]])
    assert line == "--early_stopping_patience needs a validation split (give --validation_file)"
    line = recipe_cli_error([*common, "--metric_for_best_model", "bleu"])
    assert line == (
        "--metric_for_best_model bleu: ner evaluation produces f1, precision, recall, strict_f1, "
        "strict_precision, strict_recall, accuracy, loss"
    )
    line = recipe_cli_error(
        ["--output_dir", str(tmp_path), "--save_strategy", "best", "--metric_for_best_model", "bleu"]
    )
    assert line.startswith("--metric_for_best_model bleu: ner evaluation produces f1,")
    line = recipe_cli_error([*common, "--save_strategy", "no"])
    assert "requires the save and eval strategy to match" in line
    assert not (tmp_path / "all_results.json").exists()


def test_dropout_overrides_and_layerwise_decay_in_a_run(ner_recipe, tiny_bert_dir, tmp_path):
    extra = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.05, "classifier_dropout": 0.2}
    ner_recipe(run_args(tiny_bert_dir, tmp_path, layerwise_lr_decay=0.5, peft_method="bitfit", **extra))
    config = json.loads((tmp_path / "config.json").read_text())
    assert {name: config[name] for name in extra} == extra
    card = (tmp_path / "README.md").read_text()
    assert "`layerwise_lr_decay` | 0.5" in card and "`classifier_dropout` | 0.2" in card


def test_layerwise_decay_gives_lower_layers_smaller_rates(tiny_bert_dir, tmp_path):
    from transformers import AutoModelForTokenClassification

    from mossrl_hf.configs import RecipeTrainingArguments
    from mossrl_hf.training import RecipeTrainer

    model = AutoModelForTokenClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    args = RecipeTrainingArguments(
        output_dir=str(tmp_path), learning_rate=0.8, layerwise_lr_decay=0.5, weight_decay=0.01, use_cpu=True
    )
    optimizer = RecipeTrainer(model=model, args=args).create_optimizer()
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    decay_of = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    named = dict(model.named_parameters())
    expected = {
        "bert.embeddings.word_embeddings.weight": 0.1,  # 0.8 * 0.5^3
        "bert.encoder.layer.0.attention.self.query.weight": 0.2,
        "bert.encoder.layer.1.output.dense.bias": 0.4,
        "classifier.weight": 0.8,
    }
    assert {name: rate_of[id(named[name])] for name in expected} == pytest.approx(expected)
    assert len(rate_of) == len(named)  # every parameter, once
    # Trainer's weight-decay split survives: no decay on biases and norms.
    assert decay_of[id(named["bert.encoder.layer.1.output.dense.bias"])] == 0.0
    assert decay_of[id(named["bert.encoder.layer.0.attention.self.query.weight"])] == 0.01
    scheduler = RecipeTrainer(model=model, args=args).create_scheduler(10, optimizer)
    optimizer.step()
    scheduler.step()
    assert [group["lr"] for group in optimizer.param_groups][0] < 0.8  # the schedule scales each group


def test_case_markers_travel_with_the_tokenizer(ner_recipe, tiny_bert_dir, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from mossrl_hf.case_markers import CASE_MARKER

    ner_recipe(run_args(tiny_bert_dir, tmp_path, case_markers=True, max_steps=3, learning_rate=5e-2))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)  # plain transformers, from the saved files
    assert tokenizer.tokenize("John visited london") == [CASE_MARKER, "john", "visited", "london"]
    model = AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert tagger_matches_recipe(tmp_path)  # the tagger replays the markers
    tag = pipeline("token-classification", model=str(tmp_path))
    assert tag.tokenizer.tokenize("John") == [CASE_MARKER, "john"]  # pipelines replay the markers too
    tagged = tag("John Smith visited London")
    assert {entry["word"] for entry in tagged} <= {CASE_MARKER, "john", "smith", "visited", "london"}


def test_case_markers_refuse_a_cased_tokenizer(tiny_roberta_dir, tmp_path, ner_files):
    line = recipe_cli_error(
        ["--model_name_or_path", tiny_roberta_dir, "--case_markers", "--output_dir", str(tmp_path)]
        + ["--train_file", ner_files["train_file"]]
    )
    assert line.startswith("--case_markers is for uncased (lower-casing) tokenizers;")


def test_case_markers_mark_capitalised_words_only(bert_tokenizer):
    from mossrl_hf.case_markers import CASE_MARKER, add_case_markers, has_case_markers

    marked = add_case_markers(bert_tokenizer, "tiny")
    assert has_case_markers(marked) and not has_case_markers(bert_tokenizer)
    encoding = marked(["John", "visited", "NEW", "york", "McA"], is_split_into_words=True)
    tokens = marked.convert_ids_to_tokens(encoding["input_ids"])
    marked_words = [encoding.word_ids()[i] for i, token in enumerate(tokens) if token == CASE_MARKER]
    assert marked_words == [0, 2, 4]  # one marker per capitalised word, as its first piece
    assert torch.tensor(encoding["input_ids"]).max() < len(marked)


def weights(directory) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(f"{directory}/model.safetensors")


@pytest.mark.parametrize("method", ["full", "lora"])
def test_head_warmup_trains_the_head_alone_first(ner_recipe, tiny_bert_dir, tmp_path, method):
    start = {f"bert.{name}": value for name, value in weights(tiny_bert_dir).items()}
    moved = {}
    for warmup in (3, 1):  # all 3 steps head-only; then 1 head-only step and 2 for everything
        output = tmp_path / f"{method}-{warmup}"
        extra = {"peft_method": "lora", "merge_lora": "true"} if method == "lora" else {}
        ner_recipe(run_args(tiny_bert_dir, output, max_steps=3, head_warmup_steps=warmup, **extra))
        end = weights(output)
        moved[warmup] = [name for name in start if name in end and not torch.equal(start[name], end[name])]
    assert moved[3] == []  # the body (embeddings, encoder, adapters merged in) did not move
    assert any("encoder" in name for name in moved[1])


def test_head_warmup_refuses_a_negative_count(tmp_path):
    line = recipe_cli_error(["--head_warmup_steps", "-1", "--output_dir", str(tmp_path)])
    assert line.endswith("--head_warmup_steps must be 0 (off) or more, not -1")
