"""Security defaults: no remote code unless asked, safetensors weights only unless asked, the Hub token in no
file and no log line of a run."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mossrl_hf.cli import parse_args
from mossrl_hf.configs import ModelArguments
from mossrl_hf.errors import ConfigError
from mossrl_hf.modeling import load_classifier, load_config, load_trained_classifier
from tests.conftest import FIXTURES, REPO, write
from tests.test_cli import NER_TYPES

SECRET = "hf_NotARealTokenButSecret0123456789"


def test_trust_remote_code_is_off_unless_asked(tmp_path):
    assert ModelArguments().trust_remote_code is False
    assert parse_args(NER_TYPES, ["--output_dir", "o"]).values[0].trust_remote_code is False
    config = write(tmp_path / "c.yaml", "trust_remote_code: true\noutput_dir: o\n")
    assert parse_args(NER_TYPES, ["--config", config]).values[0].trust_remote_code is True


def test_a_model_with_custom_code_is_refused_and_its_code_never_runs(tmp_path):
    model = tmp_path / "custom"
    model.mkdir()
    write(
        model / "config.json", '{"model_type": "mine", "auto_map": {"AutoConfig": "configuration_mine.Cfg"}}'
    )
    ran = tmp_path / "ran"
    write(model / "configuration_mine.py", f"import pathlib\npathlib.Path({str(ran)!r}).write_text('ran')\n")
    with pytest.raises(ConfigError) as caught:
        load_config(ModelArguments(model_name_or_path=str(model)))
    assert str(caught.value).startswith(f"{model}: cannot load a model config: ")
    assert "contains custom code" in str(caught.value) and "\n" not in str(caught.value)
    assert not ran.exists()


@pytest.fixture(scope="module")
def pickle_only_model(tiny_bert_dir, tmp_path_factory) -> Path:
    """The tiny BERT with its weights as pytorch_model.bin (a pickle) instead of model.safetensors."""
    from safetensors.torch import load_file

    folder = tmp_path_factory.mktemp("pickle-only")
    for file in Path(tiny_bert_dir).iterdir():
        if file.name != "model.safetensors":
            (folder / file.name).write_bytes(file.read_bytes())
    torch.save(load_file(str(Path(tiny_bert_dir) / "model.safetensors")), folder / "pytorch_model.bin")
    return folder


def test_pickle_weights_are_refused_unless_allowed(pickle_only_model):
    args = ModelArguments(model_name_or_path=str(pickle_only_model))
    with pytest.raises(ConfigError) as caught:
        load_classifier(args, ["O", "B-PER"])
    assert str(caught.value) == (
        f"{pickle_only_model}: only pickle weights (pytorch_model.bin), and unpickling can run code: use a "
        "checkpoint with safetensors weights, or pass --allow_pickle_weights if you trust this one"
    )
    with pytest.raises(ConfigError, match="only pickle weights"):
        load_trained_classifier(str(pickle_only_model))
    allowed = ModelArguments(model_name_or_path=str(pickle_only_model), allow_pickle_weights=True)
    assert load_classifier(allowed, ["O", "B-PER"]).config.id2label == {0: "O", 1: "B-PER"}


def test_a_pickle_adapter_is_refused(tiny_bert_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoModelForTokenClassification

    base = AutoModelForTokenClassification.from_pretrained(tiny_bert_dir, num_labels=2)
    adapter = get_peft_model(base, LoraConfig(task_type="TOKEN_CLS", r=2, target_modules=["query"]))
    adapter.save_pretrained(tmp_path)
    base.config.save_pretrained(tmp_path)
    weights = tmp_path / "adapter_model.safetensors"
    torch.save(load_file(str(weights)), tmp_path / "adapter_model.bin")
    weights.unlink()
    with pytest.raises(ConfigError, match=r"only pickle weights \(adapter_model.bin\)"):
        load_trained_classifier(str(tmp_path))


def test_the_flag_reaches_the_recipes(pickle_only_model, tmp_path, capsys):
    """A recipe run on a pickle-only checkpoint: one line, exit code 2, before any training."""
    from mossrl_hf.errors import run_main

    main = runpy.run_path(str(REPO / "recipes" / "ner.py"), run_name="ner")["main"]
    argv = ["--model_name_or_path", str(pickle_only_model), "--train_file", str(FIXTURES / "ner_train.txt")]
    with pytest.raises(SystemExit) as exited:
        run_main(main, [*argv, "--output_dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"{pickle_only_model}: only pickle weights (pytorch_model.bin)")
    )
    assert not (tmp_path / "out" / "all_results.json").exists()


def test_the_hub_token_is_in_no_file_and_no_log(tiny_bert_dir, tmp_path):
    """A run given --hub_token that trains, checkpoints, saves and then fails to push (offline): the token is
    in none of the files it wrote (Trainer pickles its arguments into training_args.bin) nor its output."""
    output = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes" / "ner.py"),
            *("--model_name_or_path", tiny_bert_dir, "--train_file", str(FIXTURES / "ner_train.txt")),
            *("--max_steps", "2", "--save_strategy", "steps", "--save_steps", "1", "--log_level", "debug"),
            *("--output_dir", str(output), "--push_to_hub", "--hub_model_id", "me/x", "--hub_token", SECRET),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert completed.stderr.strip().splitlines()[-1].startswith("push to the Hub (me/x) failed: ")
    written = [path for path in output.rglob("*") if path.is_file()]
    assert output / "training_args.bin" in written and (output / "model.safetensors") in written
    assert any(path.parent.name.startswith("checkpoint-") for path in written)
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in completed.stdout + completed.stderr


def test_the_push_still_uses_the_token(monkeypatch, tmp_path):
    import huggingface_hub

    from mossrl_hf import hub
    from mossrl_hf.configs import RecipeTrainingArguments

    used = {}

    class FakeApi:
        def __init__(self, token=None):
            used["token"] = token

        def create_repo(self, repo_id, **_):
            return type("Repo", (), {"repo_id": repo_id})()

        def upload_folder(self, **_):
            return type("Commit", (), {"commit_url": "https://example/commit"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    args = RecipeTrainingArguments(output_dir=str(tmp_path), hub_token=SECRET, push_to_hub=True, use_cpu=True)
    assert args.hub_token is None and SECRET not in repr(args) and SECRET not in args.to_json_string()
    assert hub.push_output_dir(args) == "https://example/commit" and used["token"] == SECRET
