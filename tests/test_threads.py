"""Torch threads on the CPU: `accelerate launch` without a CPU config leaves a run on one thread
(OMP_NUM_THREADS=1), and the recipes say so in one warning line; environment.json records the count used.

The rules are checked on the function's inputs; one recipe is then really launched both ways.
"""

import json
import os
import subprocess
import sys

import psutil
import pytest

from mossrl_hf.launching import launcher_environment, thread_shortfall
from mossrl_hf.reporting import usable_cores
from tests.conftest import REPO

# What `accelerate launch` gives its one process: without a config, and with accelerate_configs/cpu.yaml.
PLAIN = {"ACCELERATE_MIXED_PRECISION": "no", "ACCELERATE_USE_CPU": "False", "OMP_NUM_THREADS": "1"}
CPU_CONFIG = {"ACCELERATE_MIXED_PRECISION": "no", "ACCELERATE_USE_CPU": "True", "OMP_NUM_THREADS": "8"}
WARNING = "torch thread(s) of the"


def shortfall(environ=PLAIN, device="cpu", world_size=1, threads=1, cores=8, launcher=None):
    return thread_shortfall(environ, device, world_size, threads, cores, launcher)


def test_plain_launch_on_the_cpu_is_told_how_many_threads_and_the_ways_out():
    message = shortfall(launcher={"PATH": "/usr/bin"})
    assert message.startswith("this run uses 1 torch thread(s) of the 8 cores it may use")
    assert "--config_file accelerate_configs/cpu.yaml" in message and "OMP_NUM_THREADS=8" in message
    assert "\n" not in message
    assert shortfall() == message  # the launch command's environment unknown: still warned


@pytest.mark.parametrize(
    "case",
    [
        {"environ": CPU_CONFIG, "threads": 8},  # cpu.yaml: accelerate chose the count
        {"environ": {**CPU_CONFIG, "OMP_NUM_THREADS": "4"}, "threads": 4},  # ... one per physical core
        {"environ": {**PLAIN, "OMP_NUM_THREADS": "2"}, "threads": 2},  # the user's OMP_NUM_THREADS=2
        {"launcher": {"OMP_NUM_THREADS": "1"}},  # the user's own OMP_NUM_THREADS=1
        {"environ": {"OMP_NUM_THREADS": "1"}},  # not started by `accelerate launch`
        {"environ": {}},  # python recipes/ner.py: torch's default
        {"device": "cuda"},
        {"device": "mps"},
        {"world_size": 2},  # a CPU DDP process: one thread each on purpose
        {"threads": 8},
        {"cores": 1},
        {"cores": None},
    ],
    ids=lambda case: ",".join(f"{key}={value}" for key, value in case.items())[:70],
)
def test_no_warning_when_the_count_is_chosen_or_does_not_matter(case):
    assert shortfall(**case) is None


def test_launcher_environment_reads_the_parent_process():
    assert launcher_environment(os.getpid())["PATH"] == os.environ["PATH"]
    assert launcher_environment(2**22 + 1) is None  # no such process


def launch(tiny_bert_dir, ner_files, tmp_path, *accelerate_flags: str):
    """One recipe run started by `accelerate launch` as a user would; its stderr and environment.json."""
    output = tmp_path / "out"
    command = [sys.executable, "-m", "accelerate.commands.launch", *accelerate_flags]
    command += [str(REPO / "recipes" / "ner.py"), "--model_name_or_path", tiny_bert_dir]
    command += ["--train_file", ner_files["train_file"], "--output_dir", str(output)]
    command += ["--max_steps", "2", "--save_strategy", "no", "--disable_tqdm", "true"]
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    environment |= {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "HF_HOME": str(tmp_path / "hf"),  # no default accelerate config of this machine's user
        "HF_HUB_OFFLINE": "1",
        "CUDA_VISIBLE_DEVICES": "",  # the machine without a GPU of the issue, even on a GPU machine
        "TOKENIZERS_PARALLELISM": "false",
    }
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stderr, json.loads((output / "environment.json").read_text())


@pytest.mark.skipif((usable_cores() or 1) < 2, reason="one usable core: one thread is every core")
def test_accelerate_launch_without_a_config_warns_and_cpu_yaml_uses_the_cores(
    tiny_bert_dir, ner_files, tmp_path
):
    stderr, record = launch(tiny_bert_dir, ner_files, tmp_path / "plain")
    assert stderr.count(WARNING) == 1, stderr[-4000:]
    assert record["torch_threads"] == 1 and record["omp_num_threads"] == "1"

    config = str(REPO / "accelerate_configs" / "cpu.yaml")
    stderr, record = launch(tiny_bert_dir, ner_files, tmp_path / "cpu", "--config_file", config)
    assert WARNING not in stderr
    # accelerate gives a CPU run a thread per physical core: every usable core unless the machine has
    # SMT siblings or an affinity mask narrower than its cores.
    physical = psutil.cpu_count(logical=False) or 1
    assert record["torch_threads"] == physical
    if physical == record["usable_cores"]:
        assert record["torch_threads"] == usable_cores()
