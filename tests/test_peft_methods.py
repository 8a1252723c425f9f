"""The parameter-efficient family on tiny models: every method trains, saves, reloads (plain transformers or
plain peft, and mossrl_hf's loaders) and predicts what the recipe predicted; the wrong combinations fail in
one line before any work."""

import json
import runpy
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO
from tests.test_classification import TRAIN, classify_args
from tests.test_cli import recipe_cli_error
from tests.test_ner_recipe import conll_sentences, run_args


def base_weights(model_dir: str) -> dict[str, torch.Tensor]:
    return load_file(str(Path(model_dir) / "model.safetensors"))


def changed_names(trained_dir: Path, base_dir: str) -> set[str]:
    """Encoder parameters (names as the base model saves them) whose values training changed."""
    base = base_weights(base_dir)
    trained = {name.removeprefix("bert."): value for name, value in base_weights(str(trained_dir)).items()}
    return {name for name, value in base.items() if name in trained and not torch.equal(trained[name], value)}


def plain_peft(output: Path, base_dir: str, auto_class):
    """An adapter loaded with plain peft, as the model card shows: the base with the saved label config."""
    from peft import PeftModel
    from transformers import AutoConfig

    base = auto_class.from_pretrained(base_dir, config=AutoConfig.from_pretrained(output))
    return PeftModel.from_pretrained(base, output).eval()


def tagger_matches_recipe(output: Path) -> bool:
    from mossrl_hf.predict import load_tagger

    predicted = conll_sentences(output / "test_predictions.conll")
    words = [[line[0] for line in sentence] for sentence in predicted]
    records = load_tagger(str(output), max_length=32, stride=8)(words)
    return [r["tags"] for r in records] == [[line[2] for line in sentence] for sentence in predicted]


@pytest.mark.parametrize("method", ["lora", "dora", "ia3"])
def test_adapter_methods_for_ner_save_an_adapter_that_reloads(ner_recipe, tiny_bert_dir, tmp_path, method):
    from transformers import AutoModelForTokenClassification

    output = tmp_path / method
    ner_recipe(run_args(tiny_bert_dir, output, peft_method=method, lora_r=4, max_steps=3, learning_rate=5e-2))
    results = json.loads((output / "all_results.json").read_text())
    assert 0 < results["trainable_params"] < results["total_params"]
    assert json.loads((output / "adapter_config.json").read_text())["peft_type"] == method.upper().replace(
        "DORA", "LORA"
    )
    assert not (output / "model.safetensors").exists()
    model = plain_peft(output, tiny_bert_dir, AutoModelForTokenClassification)
    assert model.config.num_labels == 7
    assert tagger_matches_recipe(output)
    card = (output / "README.md").read_text()
    assert f"Trainable parameters: {results['trainable_params']:,} of {results['total_params']:,}" in card


@pytest.mark.parametrize(
    ("method", "extra", "frozen", "trained"),
    [
        # BitFit: no weight matrix moves, biases do.
        (
            "bitfit",
            {},
            {"encoder.layer.0.attention.self.query.weight", "embeddings.word_embeddings.weight"},
            {"encoder.layer.0.attention.self.query.bias"},
        ),
        # freeze 1 of 2 layers: the embeddings and layer 0 stay, layer 1 trains.
        (
            "freeze",
            {"freeze_layers": 1},
            {"embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight"},
            {"encoder.layer.1.attention.self.query.weight"},
        ),
        # a linear probe: the whole encoder stays.
        (
            "head_only",
            {},
            {"encoder.layer.1.output.dense.weight", "encoder.layer.1.output.dense.bias"},
            set(),
        ),
    ],
)
def test_partial_methods_train_only_their_part(
    ner_recipe, tiny_bert_dir, tmp_path, method, extra, frozen, trained
):
    from transformers import AutoModelForTokenClassification

    output = tmp_path / method
    ner_recipe(run_args(tiny_bert_dir, output, peft_method=method, max_steps=3, learning_rate=5e-2, **extra))
    changed = changed_names(output, tiny_bert_dir)
    assert not frozen & changed and trained <= changed
    if method == "head_only":
        assert not changed  # nothing of the encoder moved
    results = json.loads((output / "all_results.json").read_text())
    assert 0 < results["trainable_params"] < results["total_params"]
    AutoModelForTokenClassification.from_pretrained(output)  # plain transformers
    assert tagger_matches_recipe(output)
    config = json.loads((output / "run_config.json").read_text())["PeftArguments"]
    assert config["peft_method"] == method


def test_freeze_layers_alone_means_freeze_and_defaults_to_half(ner_recipe, tiny_bert_dir, tmp_path):
    ner_recipe(run_args(tiny_bert_dir, tmp_path / "a", freeze_layers=0, max_steps=2, learning_rate=5e-2))
    assert (
        json.loads((tmp_path / "a" / "run_config.json").read_text())["PeftArguments"]["peft_method"]
        == "freeze"
    )
    assert "encoder.layer.0.attention.self.query.weight" in changed_names(tmp_path / "a", tiny_bert_dir)
    ner_recipe(run_args(tiny_bert_dir, tmp_path / "b", peft_method="freeze", max_steps=2, learning_rate=5e-2))
    changed = changed_names(tmp_path / "b", tiny_bert_dir)
    assert "encoder.layer.0.attention.self.query.weight" not in changed  # half of 2 layers: layer 0 frozen
    assert "encoder.layer.1.attention.self.query.weight" in changed


def reward_matches_recipe(output: Path) -> None:
    from mossrl_hf.reward import load_reward_function

    records = [json.loads(line) for line in (output / "test_predictions.jsonl").read_text().splitlines()]
    scores = load_reward_function(str(output), positive_label="positive")([r["text"] for r in records])
    # The recipe writes 6 decimals; batches of other sizes move the 7th.
    assert scores == pytest.approx([r["probabilities"]["positive"] for r in records], abs=2e-6)


@pytest.mark.parametrize("method", ["prompt_tuning", "p_tuning", "ia3", "bitfit"])
def test_classification_methods_reload_with_the_recipe_figures(
    classify_main, tiny_bert_dir, tmp_path, method
):
    output = tmp_path / method
    classify_main(classify_args(tiny_bert_dir, output, peft_method=method, num_virtual_tokens=4))
    results = json.loads((output / "all_results.json").read_text())
    assert 0 < results["trainable_params"] < results["total_params"]
    if method != "bitfit":
        from transformers import AutoModelForSequenceClassification

        plain_peft(output, tiny_bert_dir, AutoModelForSequenceClassification)
    reward_matches_recipe(output)


def test_prompt_tuning_from_text(classify_main, tiny_bert_dir, tmp_path):
    classify_main(
        classify_args(tiny_bert_dir, tmp_path, peft_method="prompt_tuning", prompt_tuning_init_text="a film")
    )
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["prompt_tuning_init"] == "TEXT" and config["num_virtual_tokens"] == 20
    reward_matches_recipe(tmp_path)


def test_merged_ia3_is_a_plain_model(ner_recipe, tiny_bert_dir, tmp_path):
    from transformers import AutoModelForTokenClassification

    ner_recipe(run_args(tiny_bert_dir, tmp_path, peft_method="ia3", merge_lora=True, max_steps=2))
    assert not (tmp_path / "adapter_config.json").exists()
    AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert tagger_matches_recipe(tmp_path)


def test_reward_model_with_an_adapter(tiny_bert_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mossrl_hf.reward import load_reward_function
    from tests.test_reward_model import PAIRS, jsonl, reward_model_argv

    main = runpy.run_path(str(REPO / "recipes" / "reward_model.py"), run_name="reward_recipe")["main"]
    data = jsonl(tmp_path / "pairs.jsonl", PAIRS * 3)
    output = tmp_path / "rm"
    main(
        reward_model_argv(
            tiny_bert_dir,
            data,
            output,
            max_steps=2,
            max_seq_length=32,
            peft_method="prompt_tuning",
            num_virtual_tokens=4,
        )
    )
    results = json.loads((output / "all_results.json").read_text())
    assert 0 < results["trainable_params"] < results["total_params"]
    texts = ["Hi there!", "Go away."]
    model = plain_peft(output, tiny_bert_dir, AutoModelForSequenceClassification)
    tokenizer = AutoTokenizer.from_pretrained(output)
    with torch.no_grad():
        expected = [model(**tokenizer(text, return_tensors="pt")).logits[0, 0].item() for text in texts]
    assert load_reward_function(str(output))(texts) == pytest.approx(expected, abs=1e-5)


# --- wrong combinations: one line, exit code 2, nothing trained ------------------------------------------


@pytest.mark.parametrize(
    ("recipe", "argv", "message"),
    [
        (
            "ner",
            ["--peft_method", "prompt_tuning"],
            "--peft_method prompt_tuning does not work for token classification (ner.py); it takes: none, "
            "lora, dora, ia3, bitfit, freeze, head_only",
        ),
        (
            "ner",
            ["--peft_method", "adapterx"],
            "--peft_method must be one of none, lora, dora, ia3, prompt_tuning",
        ),
        ("ner", ["--use_lora", "--peft_method", "bitfit"], "--use_lora means --peft_method lora"),
        (
            "ner",
            ["--freeze_layers", "2", "--peft_method", "lora"],
            "--freeze_layers goes with --peft_method freeze",
        ),
        ("ner", ["--peft_method", "bitfit", "--merge_lora"], "--merge_lora needs an adapter that merges"),
        (
            "classify",
            ["--peft_method", "prompt_tuning", "--case_markers"],
            "--case_markers adds token embeddings",
        ),
        ("ner", ["--early_stopping_patience", "0"], "--early_stopping_patience must be at least 1, not 0"),
        ("ner", ["--layerwise_lr_decay", "1.5"], "--layerwise_lr_decay must be in (0, 1], not 1.5"),
        ("ner", ["--hidden_dropout_prob", "1.0"], "--hidden_dropout_prob must be in [0, 1), not 1.0"),
    ],
)
def test_wrong_combinations_fail_before_any_work(tmp_path, recipe, argv, message):
    output = tmp_path / "out"
    line = recipe_cli_error([*argv, "--output_dir", str(output)], recipe=recipe)
    assert message in line, line
    assert not output.exists()  # refused before anything was written


def test_freeze_past_the_depth_and_prefix_tuning_on_bert_fail_in_one_line(tiny_bert_dir, tmp_path):
    common = ["--model_name_or_path", tiny_bert_dir, "--train_file", TRAIN, "--output_dir", str(tmp_path)]
    line = recipe_cli_error([*common, "--peft_method", "freeze", "--freeze_layers", "3"], recipe="classify")
    assert line == "--freeze_layers 3 is past the model's depth: it has 2 layers"
    line = recipe_cli_error([*common, "--peft_method", "prefix_tuning"], recipe="classify")
    assert line.startswith("--peft_method prefix_tuning: ") and "past key values" in line
    assert line.endswith(
        "(methods for this task: none, lora, dora, ia3, prompt_tuning, p_tuning, bitfit, freeze, head_only)"
    )
    assert not (tmp_path / "all_results.json").exists()
