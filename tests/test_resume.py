"""Kill and resume, for real: a recipe run is killed with SIGKILL after a checkpoint and restarted with
`--resume_from_checkpoint true`; it must end as the same run never interrupted (every figure but the timings,
the same weights bit for bit, the same log history and prediction files), with one process and with two.
Files written at the end of a run are whole or absent, whenever the run is killed.

The runs are subprocesses on the tiny random BERT; the run to kill and the uninterrupted one run side by side.
The first checkpoint falls in the middle of an epoch after the first (save_steps 8, 3 or 6 steps an epoch), so
the resumed run must rebuild that epoch's batch order and skip the batches already trained on.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mossrl_hf.training.resuming import last_complete_checkpoint
from tests.conftest import FIXTURES, REPO, write

DDP_CONFIG = REPO / "accelerate_configs" / "cpu_ddp.yaml"
TRAINING = {
    "per_device_train_batch_size": "2",
    "per_device_eval_batch_size": "2",
    "learning_rate": "1e-3",
    "max_steps": "40",  # leaves the run seconds to go after its first checkpoint: it is killed long before
    "save_steps": "8",
    "logging_steps": "3",
    "disable_tqdm": "true",
}
TIMINGS = ("_runtime", "_per_second")
STARTED_WITH = {"run_config.json", "environment.json"}  # written before training


def flags(options: dict[str, str]) -> list[str]:
    return [item for key, value in options.items() for item in (f"--{key}", value)]


def start(recipe: str, options: dict[str, str], processes: int, log: Path) -> subprocess.Popen:
    """A recipe run in its own process group (all of it can be cleaned up), output into `log`."""
    script = str(REPO / "recipes" / f"{recipe}.py")
    command = [sys.executable, script]
    if processes == 2:
        command = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            str(DDP_CONFIG),
            script,
        ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "ab") as stream:
        return subprocess.Popen(
            command + flags(options),
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def wait(process: subprocess.Popen, log: Path) -> None:
    try:
        assert process.wait(timeout=300) == 0, tail(log)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # what is left of the run: torchrun's workers, say
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def worker_pid(launcher: int) -> int:
    """The rank-0 training process that `accelerate launch` (torchrun) started."""
    children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    for child in children:
        environment = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        if b"RANK=0" in environment:
            return int(child)
    raise AssertionError(f"no rank-0 worker among {children}")


def kill_when(process: subprocess.Popen, log: Path, ready, processes: int) -> None:
    """SIGKILL the run (with two processes, its rank-0 worker; torchrun then stops the other) as soon as
    `ready()`; the run must still be going then."""
    deadline = time.monotonic() + 300
    while not ready():
        assert process.poll() is None, f"the run ended before it could be killed:\n{tail(log)}"
        assert time.monotonic() < deadline, tail(log)
        time.sleep(0.02)
    os.kill(process.pid if processes == 1 else worker_pid(process.pid), signal.SIGKILL)
    process.wait(timeout=120)
    stop_group(process)
    assert process.returncode != 0, "the run finished before the kill"


def figures(output: Path) -> dict:
    results = json.loads((output / "all_results.json").read_text())
    return {key: value for key, value in results.items() if not key.endswith(TIMINGS)}


def history(output: Path) -> list[dict]:
    logs = json.loads((output / "trainer_state.json").read_text())["log_history"]
    return [{key: value for key, value in entry.items() if not key.endswith(TIMINGS)} for entry in logs]


def assert_same_run(resumed: Path, reference: Path, files: list[str]) -> None:
    assert figures(resumed) == figures(reference)
    assert history(resumed) == history(reference)
    weights, expected = load_file(resumed / "model.safetensors"), load_file(reference / "model.safetensors")
    assert weights.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(weights[name], tensor), name
    for name in files:
        assert (resumed / name).read_bytes() == (reference / name).read_bytes(), name


def assert_whole_or_absent(output: Path) -> None:
    """Every result file present at the top of output_dir is whole (parses, loads)."""
    from matplotlib.image import imread

    for path in output.iterdir():
        if path.name.endswith(".json"):
            json.loads(path.read_text())
        elif path.suffix == ".png":
            imread(path)
        elif path.suffix == ".safetensors":
            load_file(path)


def kill_and_resume(recipe, options, processes, tmp_path, files, end_kill_after=None) -> Path:
    """Run once uninterrupted and once killed after its first whole checkpoint, then resumed (and, with
    `end_kill_after`, killed again once that file exists, while the results are being written, and resumed
    from its last checkpoint). Check that both end alike; returns the resumed run's output_dir."""
    reference, resumed = tmp_path / "reference" / "run", tmp_path / "resumed" / "run"
    log = tmp_path / "resumed.log"
    uninterrupted = start(recipe, {**options, "output_dir": str(reference)}, processes, tmp_path / "ref.log")
    try:
        victim = start(recipe, {**options, "output_dir": str(resumed)}, processes, log)
        kill_when(victim, log, lambda: last_complete_checkpoint(resumed, processes), processes)
        checkpoint = last_complete_checkpoint(resumed, processes)
        print(f"killed; resuming from {checkpoint}")  # shown when the test fails
        assert int(checkpoint.rsplit("-", 1)[1]) < int(options["max_steps"])
        left = {path.name for path in resumed.iterdir() if not path.name.startswith("checkpoint-")}
        assert left <= STARTED_WITH, left  # nothing of the end of a run yet, whole or not
        again = {**options, "output_dir": str(resumed), "resume_from_checkpoint": "true"}
        if end_kill_after:
            victim = start(recipe, again, processes, log)
            kill_when(victim, log, (resumed / end_kill_after).exists, processes)
            assert_whole_or_absent(resumed)
            assert not (resumed / "all_results.json").exists()
        wait(start(recipe, again, processes, log), log)
    finally:
        wait(uninterrupted, tmp_path / "ref.log")
    assert_same_run(resumed, reference, files)
    return resumed


def ner_options(model: str, tmp_path: Path) -> dict[str, str]:
    # 12 training sentences: 6 steps an epoch with one process, 3 with two.
    sentences = (FIXTURES / "ner_train.txt").read_text().strip() + "\n\n"
    train = write(tmp_path / "train.txt", sentences * 3)
    test = str(FIXTURES / "ner_test.txt")
    data = {"train_file": train, "validation_file": test, "test_file": test, "max_seq_length": "32"}
    return {"model_name_or_path": model, **data, **TRAINING}


def classify_options(model: str, tmp_path: Path) -> dict[str, str]:
    rows = (FIXTURES / "sentiment_train.csv").read_text().splitlines()
    train = write(tmp_path / "train.csv", "\n".join([rows[0], *rows[1:] * 2]) + "\n")  # 12 rows
    data = {"train_file": train, "validation_file": train, "test_file": train}
    return {"model_name_or_path": model, **data, **TRAINING}


def reward_options(model: str, tmp_path: Path) -> dict[str, str]:
    pairs = [
        {"prompt": f"Question {i}?", "chosen": f"A helpful answer {i}.", "rejected": f"No {i}."}
        for i in range(12)
    ]
    train = write(tmp_path / "pairs.jsonl", "".join(json.dumps(pair) + "\n" for pair in pairs))
    data = {"train_file": train, "validation_file": train, "test_file": train, "max_seq_length": "32"}
    return {"model_name_or_path": model, **data, **TRAINING}


OPTIONS = {"ner": ner_options, "classify": classify_options, "reward_model": reward_options}
# Files equal byte for byte, besides the figures, history and weights (the card too: same folder name).
COMMON_FILES = ["README.md", "training_curves.png", "eval_metrics.png"]
FILES = {
    "ner": ["test_predictions.conll", "test_report.txt", "eval_report.txt", "per_type_f1.png", *COMMON_FILES],
    "classify": ["test_predictions.jsonl", "test_report.txt", "confusion_matrix.png", *COMMON_FILES],
    "reward_model": ["test_predictions.jsonl", *COMMON_FILES],
}


def test_ner_killed_in_training_and_while_writing_results(tiny_bert_dir, tmp_path):
    # Killed again once training is over, while the results are written: resumed from the final checkpoint
    # (step 40, in the middle of an epoch), it trains no step more and writes the same results.
    options = ner_options(tiny_bert_dir, tmp_path)
    kill_and_resume("ner", options, 1, tmp_path, FILES["ner"], end_kill_after="train_results.json")


@pytest.mark.parametrize("recipe", ["classify", "reward_model"])
def test_killed_in_training(recipe, tiny_bert_dir, tmp_path):
    kill_and_resume(recipe, OPTIONS[recipe](tiny_bert_dir, tmp_path), 1, tmp_path, FILES[recipe])


@pytest.mark.distributed
@pytest.mark.parametrize("recipe", ["ner", "classify", "reward_model"])
def test_two_processes_killed_in_training(recipe, tiny_bert_dir, tmp_path):
    resumed = kill_and_resume(recipe, OPTIONS[recipe](tiny_bert_dir, tmp_path), 2, tmp_path, FILES[recipe])
    assert json.loads((resumed / "all_results.json").read_text())["world_size"] == 2


def test_resumes_from_the_last_whole_checkpoint_at_an_epoch_end(ner_recipe, tiny_bert_dir, tmp_path):
    """A checkpoint on the last step of an epoch comes after that epoch's evaluation (else the resumed run
    would skip it); a newer checkpoint cut short while saving is passed over. In one process, no kill: the
    checkpoints of a finished run are copied."""
    options = {**ner_options(tiny_bert_dir, tmp_path), "max_steps": "7", "save_steps": "6"}  # 6 an epoch
    reference = tmp_path / "reference" / "run"
    ner_recipe(flags({**options, "output_dir": str(reference)}))
    resumed = tmp_path / "resumed" / "run"
    for step in (6, 7):
        shutil.copytree(reference / f"checkpoint-{step}", resumed / f"checkpoint-{step}")
    state = resumed / "checkpoint-7" / "trainer_state.json"
    state.write_text(state.read_text()[:100])  # as if killed while writing it
    evaluations = [entry["step"] for entry in history(resumed / "checkpoint-6") if "eval_loss" in entry]
    assert evaluations == [6]
    ner_recipe(flags({**options, "output_dir": str(resumed), "resume_from_checkpoint": "true"}))
    assert_same_run(resumed, reference, FILES["ner"])


def test_early_stopping_counts_on_after_a_restart(ner_recipe, tiny_bert_dir, tmp_path):
    """Resumed between two evaluations that did not improve, the run stops where the run never stopped did
    (the patience count is restored), not one evaluation later."""
    stopping = {"num_train_epochs": "10", "save_strategy": "epoch", "load_best_model_at_end": "true"}
    stopping |= {
        "metric_for_best_model": "loss",
        "early_stopping_patience": "2",
        "early_stopping_threshold": "0.1",
    }
    options = {**ner_options(tiny_bert_dir, tmp_path), **stopping}
    del options["max_steps"], options["save_steps"]
    reference = tmp_path / "reference" / "run"
    ner_recipe(flags({**options, "output_dir": str(reference)}))
    checkpoints = sorted(int(path.name.split("-")[1]) for path in reference.glob("checkpoint-*"))
    assert checkpoints[-1] < 60, "the reference run did not stop early: nothing to test"
    counted = [
        step
        for step in checkpoints
        if json.loads((reference / f"checkpoint-{step}" / "trainer_state.json").read_text())[
            "stateful_callbacks"
        ]["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"]
    ]
    assert counted, "no checkpoint between evaluations that did not improve: nothing to test"
    resumed = tmp_path / "resumed" / "run"
    shutil.copytree(reference / f"checkpoint-{counted[0]}", resumed / f"checkpoint-{counted[0]}")
    ner_recipe(flags({**options, "output_dir": str(resumed), "resume_from_checkpoint": "true"}))
    assert_same_run(resumed, reference, FILES["ner"])


def fake_checkpoint(output: Path, step: int, rng_files: list[str], state: str = '{"global_step": 1}') -> Path:
    checkpoint = output / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text(state)
    for name in rng_files:
        torch.save({"cpu": torch.random.get_rng_state()}, checkpoint / name)
    return checkpoint


def test_incomplete_checkpoints_are_passed_over(tmp_path):
    one, two = ["rng_state.pth"], ["rng_state_0.pth", "rng_state_1.pth"]
    fake_checkpoint(tmp_path, 2, two)
    fake_checkpoint(tmp_path, 4, two[:1])  # the second process was killed before saving its part
    cut = fake_checkpoint(tmp_path, 6, two) / "rng_state_1.pth"
    cut.write_bytes(cut.read_bytes()[:-30])
    fake_checkpoint(tmp_path, 8, two, state='{"global_st')
    fake_checkpoint(tmp_path, 10, two).joinpath("trainer_state.json").unlink()
    assert last_complete_checkpoint(tmp_path, 2) == str(tmp_path / "checkpoint-2")
    # Saved by another number of processes: whole if its state and RNG files are.
    assert last_complete_checkpoint(tmp_path, 1) == str(tmp_path / "checkpoint-4")
    fake_checkpoint(tmp_path / "single", 3, one)
    assert last_complete_checkpoint(tmp_path / "single", 2) == str(tmp_path / "single" / "checkpoint-3")
    assert last_complete_checkpoint(tmp_path / "missing", 1) is None


@pytest.mark.parametrize(
    ("recipe", "extra"), [("ner", {}), ("classify", {"use_lora": "true"}), ("reward_model", {})]
)
def test_every_output_file_is_renamed_into_place(recipe, extra, tiny_bert_dir, tmp_path, monkeypatch):
    """Whole or absent: every file a run leaves in output_dir got there by a rename from a temporary file
    (the model's files too), so a kill at any moment leaves each one whole or not there at all."""
    import runpy

    main = runpy.run_path(str(REPO / "recipes" / f"{recipe}.py"), run_name=f"{recipe}_recipe")["main"]
    renamed, replace = set(), os.replace
    monkeypatch.setattr(
        os, "replace", lambda source, target: (renamed.add(Path(target)), replace(source, target))
    )
    output = tmp_path / "run"
    options = {**OPTIONS[recipe](tiny_bert_dir, tmp_path), "max_steps": "2", "save_strategy": "no", **extra}
    main(flags({**options, "output_dir": str(output)}))
    written = {path for path in output.rglob("*") if path.is_file()}
    names = {path.name for path in written}
    assert {"all_results.json", "README.md", "training_curves.png", "tokenizer.json"} <= names
    assert any(name.endswith(".safetensors") for name in names)
    assert written <= renamed, sorted(str(path) for path in written - renamed)
