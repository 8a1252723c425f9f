"""Two CPU processes (gloo) through `accelerate launch --config_file accelerate_configs/cpu_ddp.yaml`.

Each recipe trains and saves one model with two processes; its evaluation must see every example exactly
once, so that its figures and prediction files equal a one-process scoring of the saved model, byte for byte.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, write

pytestmark = pytest.mark.distributed

DDP_CONFIG = REPO / "accelerate_configs" / "cpu_ddp.yaml"
COMMON = {
    "save_strategy": "no",
    "disable_tqdm": "true",
    "per_device_train_batch_size": "2",
    # 2 per process: the splits below don't divide into full batches, so the last batch of one process
    # is padded with a repeated example, which must not be counted twice.
    "per_device_eval_batch_size": "2",
    "learning_rate": "1e-3",
    "max_steps": "3",
}


def flags(options: dict[str, str]) -> list[str]:
    return [item for key, value in options.items() for item in (f"--{key}", value)]


def launch(recipe: str, options: dict[str, str], processes: int) -> subprocess.CompletedProcess:
    """Run a recipe with two processes through accelerate, or with one as a plain script."""
    script = str(REPO / "recipes" / f"{recipe}.py")
    if processes == 2:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP_CONFIG)]
        command += [script]
    else:
        command = [sys.executable, script]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    completed = subprocess.run(
        command + flags(options), capture_output=True, text=True, timeout=600, env=environment
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed


def results(output: Path) -> dict:
    return json.loads((output / "all_results.json").read_text())


def assert_rescored_alike(recipe: str, trained: Path, rescored: Path, data: dict, files: list[str]):
    """One process scoring the two-process model gives the same figures and the same prediction files."""
    options = {"model_name_or_path": str(trained), "output_dir": str(rescored), **data}
    options |= {"per_device_eval_batch_size": "2", "disable_tqdm": "true"}
    launch(recipe, options, processes=1)
    two, one = results(trained), results(rescored)
    assert two["world_size"] == 2 and one["world_size"] == 1
    scored = [key for key in two if key.startswith(("eval_", "test_"))]
    for key in [key for key in scored if not key.endswith(("_runtime", "_per_second", "_loss"))]:
        if isinstance(two[key], (float, list)) and recipe != "ner" and not key.endswith("confusion_matrix"):
            # Means of rewards and probabilities: the last batch of a process holds a repeated row that
            # is dropped again, but it changes the batch shape, so float32 sums round differently (and
            # so do the bootstrap intervals of the mean margin).
            assert two[key] == pytest.approx(one[key], rel=1e-6, abs=1e-9), key
        else:
            assert two[key] == one[key], key
    for name in files:
        assert (trained / name).read_bytes() == (rescored / name).read_bytes(), name


def test_ner_two_processes(tiny_bert_dir, tmp_path):
    blocks = (FIXTURES / "ner_test.txt").read_text().strip().split("\n\n")
    sentences = [block for block in blocks if not block.startswith("-DOCSTART-")]
    long_sentence = "".join(f"{w} NNP {t}\n" for w, t in [("john", "B-PER"), ("left", "O")] * 40)
    # 2 x 5 + 1 = 11 sentences, one longer than --max_seq_length (several windows).
    test_file = write(tmp_path / "test.txt", "\n\n".join(sentences * 5 + [long_sentence]) + "\n")
    data = {
        "validation_file": test_file,
        "test_file": test_file,
        "max_seq_length": "32",
        "stride": "8",
    }
    trained = tmp_path / "ddp"
    options = {"model_name_or_path": tiny_bert_dir, "train_file": str(FIXTURES / "ner_train.txt")}
    launch("ner", {**options, **data, **COMMON, "output_dir": str(trained)}, processes=2)
    words = sum(len(block.splitlines()) for block in Path(test_file).read_text().strip().split("\n\n"))
    predicted = [line for line in (trained / "test_predictions.conll").read_text().splitlines() if line]
    assert len(predicted) == words  # one line per input word: nothing lost, nothing doubled
    assert_rescored_alike(
        "ner", trained, tmp_path / "one", data, ["test_predictions.conll", "test_report.txt"]
    )


def test_classify_two_processes(tiny_bert_dir, tmp_path):
    rows = (FIXTURES / "sentiment_train.csv").read_text().splitlines()
    test_file = write(tmp_path / "test.csv", "\n".join([rows[0], *rows[1:] * 2, rows[1]]) + "\n")  # 13
    data = {"validation_file": test_file, "test_file": test_file}
    trained = tmp_path / "ddp"
    options = {"model_name_or_path": tiny_bert_dir, "train_file": str(FIXTURES / "sentiment_train.csv")}
    launch("classify", {**options, **data, **COMMON, "output_dir": str(trained)}, processes=2)
    lines = (trained / "test_predictions.jsonl").read_text().splitlines()
    assert len(lines) == 13
    assert_rescored_alike("classify", trained, tmp_path / "one", data, ["test_predictions.jsonl"])


def test_reward_model_two_processes(tiny_bert_dir, tmp_path):
    pairs = [
        {"prompt": f"Question {i}?", "chosen": f"A helpful answer {i}.", "rejected": f"No {i}."}
        for i in range(11)
    ]
    test_file = write(tmp_path / "pairs.jsonl", "".join(json.dumps(pair) + "\n" for pair in pairs))
    data = {"validation_file": test_file, "test_file": test_file, "max_seq_length": "32"}
    trained = tmp_path / "ddp"
    options = {"model_name_or_path": tiny_bert_dir, "train_file": test_file}
    launch("reward_model", {**options, **data, **COMMON, "output_dir": str(trained)}, processes=2)
    assert len((trained / "test_predictions.jsonl").read_text().splitlines()) == 11
    assert_rescored_alike("reward_model", trained, tmp_path / "one", data, ["test_predictions.jsonl"])


def test_head_warmup_two_processes(tiny_bert_dir, tmp_path):
    # DDP waits for every weight's gradient; during the warm-up the body has none (unused parameters).
    trained = tmp_path / "ddp"
    options = {"model_name_or_path": tiny_bert_dir, "train_file": str(FIXTURES / "sentiment_train.csv")}
    options |= {"head_warmup_steps": "2", "output_dir": str(trained)}
    launch("classify", {**options, **COMMON}, processes=2)
    assert results(trained)["world_size"] == 2
    config = json.loads((trained / "run_config.json").read_text())
    assert config["RecipeTrainingArguments"]["ddp_find_unused_parameters"] is True
