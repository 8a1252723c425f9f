"""The shipped accelerate configs: each loads with accelerate's own loader, makes `accelerate launch` start
what its name promises and names its launch command in its header; and a missing DeepSpeed is a one-line
error.

No process is launched here: the launch checks run accelerate's own argument resolution and environment
preparation, the steps `accelerate launch` takes before it starts the processes. Distributed runs are in the
distributed tests.
"""

import importlib.util
import re
import shlex
from unittest import mock

import pytest
import torch
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.utils import DistributedType

from mossrl_hf import launching, runtime
from mossrl_hf.cli import parse_args
from mossrl_hf.errors import ConfigError
from tests.conftest import REPO, write
from tests.test_cli import recipe_cli_error, recipe_types

CONFIG_DIR = REPO / "accelerate_configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
EXPECTED = {
    "cpu.yaml",
    "cpu_ddp.yaml",
    "single_gpu.yaml",
    "multi_gpu.yaml",
    "fsdp.yaml",
    "deepspeed_zero2.yaml",
    "deepspeed_zero3.yaml",
    "multi_node.yaml",
}
DEEPSPEED_INSTALLED = importlib.util.find_spec("deepspeed") is not None


def load(name: str) -> ClusterConfig:
    return load_config_from_file(str(CONFIG_DIR / name))


def header_commands(config) -> list[str]:
    """The `accelerate launch --config_file accelerate_configs/<this file> ...` commands in the leading
    comment block."""
    header = []
    for line in config.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    prefix = f"accelerate launch --config_file accelerate_configs/{config.name} "
    return [line for line in header if line.startswith(prefix)]


def recipe_argv(command: str) -> tuple[str, list[str]]:
    """The recipe a command launches (`recipes/ner.py`) and the recipe's own arguments (what follows)."""
    words = shlex.split(command)
    position = next(i for i, word in enumerate(words) if re.fullmatch(r"recipes/\w+\.py", word))
    return words[position], words[position + 1 :]


def parse_recipe_argv(recipe: str, argv: list[str]) -> tuple:
    """`argv` parsed by the recipe's own parser (as the recipe would), the dataclasses in its order."""
    return parse_args(recipe_types(recipe.removeprefix("recipes/").removesuffix(".py")), argv).values


def resolve_launch(name: str, *flags: str):
    """What `accelerate launch --config_file accelerate_configs/<name> [flags] recipes/ner.py` would start:
    accelerate's parsed arguments (nproc_per_node, nnodes, ... for torchrun) and the workers' environment."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import launch as accelerate_launch

    argv = ["--config_file", str(CONFIG_DIR / name), *flags, "recipes/ner.py"]
    args, defaults, _ = _validate_launch_command(launch_command_parser().parse_args(argv))
    # The port check asks the OS; on a shared machine the port may be busy, which is no fault of the config.
    with mock.patch.object(accelerate_launch, "is_port_in_use", return_value=False):
        if args.use_deepspeed:
            args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
            _, env = accelerate_launch.prepare_deepspeed_cmd_env(args)
        elif args.multi_gpu or args.use_fsdp:
            env = accelerate_launch.prepare_multi_gpu_env(args)
        else:
            _, env = accelerate_launch.prepare_simple_launcher_cmd_env(args)
    return args, env


def test_every_way_of_running_has_a_config():
    assert not EXPECTED - {config.name for config in CONFIGS}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_its_header_gives_a_command_that_parses(config):
    loaded = load_config_from_file(str(config))  # accelerate's loader: unknown top-level keys are errors
    assert isinstance(loaded, ClusterConfig)
    commands = header_commands(config)
    assert commands, f"{config.name}: the header comment gives no `accelerate launch --config_file` command"
    for command in commands:
        recipe, argv = recipe_argv(command)
        assert (REPO / recipe).is_file(), f"{config.name}: {recipe} does not exist"
        parse_recipe_argv(recipe, argv)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_readme_lists_every_config(config):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Launching with accelerate", 1)[1].split("\n## ", 1)[0]
    assert f"`{config.name}`" in section


def test_cpu_ddp_starts_two_workers_that_form_one_cpu_group():
    config = load("cpu_ddp.yaml")
    # MULTI_CPU would make `accelerate launch` start one plain process (torchrun only through mpirun).
    assert config.distributed_type == DistributedType.MULTI_GPU
    assert config.num_processes == 2 and config.num_machines == 1 and config.mixed_precision == "no"
    args, _ = resolve_launch("cpu_ddp.yaml")
    assert args.multi_gpu and args.nproc_per_node == "2"  # torchrun with two workers
    # Workers only join one CPU group when the recipe is told to use the CPU (torchrun does not pass it
    # on): without a GPU the recipes' own defaults say so.
    if not torch.cuda.is_available():
        for command in header_commands(CONFIG_DIR / "cpu_ddp.yaml"):
            recipe, argv = recipe_argv(command)
            name = recipe.removeprefix("recipes/").removesuffix(".py")
            training = parse_args(recipe_types(name), argv, runtime.recipe_defaults("outputs/x")).values[-1]
            assert training.use_cpu


def test_num_processes_flag_overrides_the_file():
    args, _ = resolve_launch("multi_gpu.yaml", "--num_processes", "4")
    assert args.multi_gpu and args.nproc_per_node == "4"
    assert "--num_processes" in (CONFIG_DIR / "multi_gpu.yaml").read_text(encoding="utf-8")


def test_single_gpu_is_one_process_on_one_gpu_in_bf16():
    config = load("single_gpu.yaml")
    assert config.distributed_type == DistributedType.NO and config.num_processes == 1
    assert not config.use_cpu and config.mixed_precision == "bf16"
    args, env = resolve_launch("single_gpu.yaml")
    # One visible GPU, or transformers.Trainer would wrap the model in DataParallel over all of them.
    assert args.gpu_ids == "0" and env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    # accelerate (1.16 on) sets the visible-devices variable of the accelerator torch was built for: none
    # for a CPU-only build, CUDA_VISIBLE_DEVICES on NVIDIA GPUs.
    if torch.cuda.is_available():
        assert env["CUDA_VISIBLE_DEVICES"] == "0"


def test_gpu_configs_use_bf16():
    for name in (
        "multi_gpu.yaml",
        "fsdp.yaml",
        "deepspeed_zero2.yaml",
        "deepspeed_zero3.yaml",
        "multi_node.yaml",
    ):
        assert load(name).mixed_precision == "bf16", name


def test_fsdp_saves_a_full_state_dict_and_wraps_bert_layers():
    from transformers.models.bert.modeling_bert import BertLayer

    config = load("fsdp.yaml")
    assert config.distributed_type == DistributedType.FSDP
    _, env = resolve_launch("fsdp.yaml")
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    assert env["FSDP_STATE_DICT_TYPE"] == "FULL_STATE_DICT"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    assert env["FSDP_TRANSFORMER_CLS_TO_WRAP"] == BertLayer.__name__


@pytest.mark.parametrize(("name", "stage"), [("deepspeed_zero2.yaml", 2), ("deepspeed_zero3.yaml", 3)])
def test_deepspeed_zero_stage(name, stage):
    config = load(name)
    assert config.distributed_type == DistributedType.DEEPSPEED
    assert config.deepspeed_config["zero_stage"] == stage
    # Left to "auto" so that the recipe's --gradient_accumulation_steps / --max_grad_norm decide them.
    assert not {"gradient_accumulation_steps", "gradient_clipping"} & set(config.deepspeed_config)
    _, env = resolve_launch(name)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true" and env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == str(stage)
    if stage == 3:  # gathered 16-bit weights, so save_model writes a model and not only ZeRO shards
        assert env["ACCELERATE_DEEPSPEED_ZERO3_SAVE_16BIT_MODEL"] == "true"


def test_multi_node_places_each_machine_by_its_flags():
    config = load("multi_node.yaml")
    assert config.num_machines > 1 and config.num_processes % config.num_machines == 0
    assert config.machine_rank == 0 and config.main_process_ip and config.main_process_port
    args, _ = resolve_launch("multi_node.yaml")
    assert args.nnodes == str(config.num_machines) and args.node_rank == 0
    assert args.nproc_per_node == str(config.num_processes // config.num_machines)
    flags = ("--machine_rank", "1", "--main_process_ip", "10.1.2.3", "--main_process_port", "6123")
    args, _ = resolve_launch("multi_node.yaml", *flags)
    assert args.node_rank == 1
    assert "10.1.2.3:6123" in (args.rdzv_endpoint or f"{args.master_addr}:{args.master_port}")


@pytest.mark.parametrize(
    ("argv", "config_text", "environment"),
    [
        (["--deepspeed", "ds.json"], None, {}),
        ([], "deepspeed: ds.json\n", {}),
        ([], None, {"ACCELERATE_USE_DEEPSPEED": "true"}),
    ],
    ids=["flag", "yaml", "environment"],
)
def test_deepspeed_asked_for_but_missing_is_a_config_error(
    tmp_path, monkeypatch, argv, config_text, environment
):
    monkeypatch.setattr(launching, "is_deepspeed_available", lambda: False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    if config_text:
        argv = ["--config", write(tmp_path / "c.yaml", config_text)]
    with pytest.raises(
        ConfigError, match=re.escape("needs the deepspeed package, which is not installed: pip")
    ):
        parse_args(recipe_types("ner"), [*argv, "--output_dir", str(tmp_path / "out")])


def test_no_deepspeed_needed_when_not_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(launching, "is_deepspeed_available", lambda: False)
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "false")
    parse_args(recipe_types("ner"), ["--output_dir", str(tmp_path / "out")])


@pytest.mark.skipif(DEEPSPEED_INSTALLED, reason="checks the message shown when deepspeed is not installed")
def test_recipe_without_deepspeed_stops_with_one_line(tmp_path, tiny_bert_dir, ner_files):
    # One run as users see it; the other ways of asking for DeepSpeed are checked in-process above.
    ds_config = write(tmp_path / "ds.json", '{"zero_optimization": {"stage": 2}}')
    output_dir = tmp_path / "out"
    argv = ["--model_name_or_path", tiny_bert_dir, "--output_dir", str(output_dir), "--max_steps", "2"]
    argv += [f"--{key}={value}" for key, value in ner_files.items()]
    line = recipe_cli_error([*argv, "--deepspeed", ds_config])
    assert line.startswith("--deepspeed needs the deepspeed package, which is not installed")
    assert "pip install deepspeed" in line
    assert not output_dir.exists()  # stopped before the run record, the model or any training
