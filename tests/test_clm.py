"""recipes/clm.py: causal-LM training on plain text, from scratch (a tokenizer trained here) or continued."""

import json
import math
import runpy

import pytest
import torch
from safetensors.torch import load_file

from mossrl_hf.errors import ConfigError, DataError
from mossrl_hf.tasks import clm
from tests.conftest import REPO, write
from tests.test_cli import recipe_cli_error

SENTENCES = [
    "the film is a charming and often affecting journey .",
    "a dull , lifeless mess of a movie .",
    "the acting is superb and the story moves along nicely .",
    "it is a smart , funny and touching film .",
    "the plot never makes any sense at all .",
    "one of the best films of the year .",
    "the director has made a warm and witty comedy .",
    "a tedious and overlong drama .",
] * 6


@pytest.fixture(scope="session")
def clm_main():
    return runpy.run_path(str(REPO / "recipes" / "clm.py"), run_name="clm_recipe")["main"]


@pytest.fixture
def text_file(tmp_path) -> str:
    return write(tmp_path / "texts.txt", "\n".join(SENTENCES) + "\n\n")


def tiny_argv(train_file: str, output_dir, *extra: str) -> list[str]:
    return [
        "--train_file", train_file, "--output_dir", str(output_dir), "--model_config", "tiny",
        "--tokenizer_vocab_size", "300", "--block_size", "16", "--max_steps", "3",
        "--per_device_train_batch_size", "4", "--report_to", "none", *extra,
    ]  # fmt: skip


def test_tokenizer_marks_text_starts_and_pads_apart():
    tokenizer = clm.train_tokenizer(SENTENCES, 300)
    ids = tokenizer("the film is")["input_ids"]
    assert ids[0] == tokenizer.eos_token_id and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == "the film is"


def test_packing_joins_texts_into_full_blocks():
    tokenizer = clm.train_tokenizer(SENTENCES, 300)
    blocks = clm.pack(SENTENCES[:8], tokenizer, 16, "train")["input_ids"]
    stream = [token for ids in tokenizer(SENTENCES[:8])["input_ids"] for token in ids]
    assert all(len(block) == 16 for block in blocks) and len(blocks) == len(stream) // 16
    assert [token for block in blocks for token in block] == stream[: 16 * len(blocks)]
    with pytest.raises(ConfigError, match="fewer than one block"):
        clm.pack(["a"], tokenizer, 64, "validation")


def test_model_config_presets_and_values():
    assert clm.parse_model_config("small,n_layer=6") == {**clm.MODEL_PRESETS["small"], "n_layer": 6}
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        clm.parse_model_config("huge")
    with pytest.raises(ConfigError, match="'n_layers' is not a GPT2Config field"):
        clm.parse_model_config("n_layers=2")


def test_from_scratch_reports_perplexity_and_loads_in_a_pipeline(clm_main, text_file, tmp_path):
    from transformers import pipeline

    output = tmp_path / "out"
    results = clm_main(tiny_argv(text_file, output))
    assert math.isclose(results["eval_perplexity"], math.exp(results["eval_loss"]), rel_tol=1e-6)
    assert (
        json.loads((output / "all_results.json").read_text())["eval_perplexity"] == results["eval_perplexity"]
    )
    card = (output / "README.md").read_text()
    assert "pipeline_tag: text-generation" in card and "trained from scratch" in card
    assert "MiniLM" not in card and "base_model" not in card.split("---")[1]
    assert (output / clm.TOKENIZER_DIR / "tokenizer.json").is_file()  # what other processes, a resume, load
    generator = pipeline("text-generation", model=str(output))
    text = generator("the film", max_new_tokens=5, do_sample=False)[0]["generated_text"]
    assert text.startswith("the film")


def test_continued_training_changes_the_weights(clm_main, text_file, tmp_path):
    first = tmp_path / "first"
    clm_main(tiny_argv(text_file, first))
    rows = [json.dumps({"body": sentence}) for sentence in SENTENCES]
    json_file = write(tmp_path / "texts.jsonl", "\n".join(rows) + "\n")
    second = tmp_path / "second"
    argv = tiny_argv(json_file, second, "--model_name_or_path", str(first), "--text_column", "body")
    clm_main([*argv, "--learning_rate", "1e-2"])
    before, after = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert any(not torch.equal(before[name], after[name]) for name in before)


def test_empty_text_is_one_line(tmp_path):
    empty = write(tmp_path / "empty.txt", "\n\n")
    line = recipe_cli_error(tiny_argv(empty, tmp_path / "out"), recipe="clm")
    assert line == f"{empty}:1: no texts found (the file is empty or blank)"


def test_a_missing_text_column_is_a_data_error(tmp_path):
    from mossrl_hf.data.plain_text import read_plain_texts

    path = write(tmp_path / "t.csv", "sentence,label\nnice film,1\n")
    with pytest.raises(DataError, match="no column 'text' \\(columns: sentence, label\\)"):
        read_plain_texts(path, "text")
    assert read_plain_texts(path, "sentence") == ["nice film"]
