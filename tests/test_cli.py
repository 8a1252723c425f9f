import json
import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest

from mossrl_hf.cli import parse_args
from mossrl_hf.configs import LoraArguments, ModelArguments, NerDataArguments, RecipeTrainingArguments
from mossrl_hf.errors import ConfigError
from tests.conftest import REPO, write

NER_TYPES = (ModelArguments, NerDataArguments, LoraArguments, RecipeTrainingArguments)


def test_yaml_sets_defaults_and_flags_override(tmp_path):
    config = write(tmp_path / "c.yaml", "learning_rate: 1.0e-4\nnum_train_epochs: 2\nlabel_names: [O, B-X]\n")
    parsed = parse_args(NER_TYPES, ["--config", config, "--num_train_epochs", "5", "--output_dir", "o"])
    model, data, lora, training = parsed.values
    assert training.learning_rate == 1e-4 and training.num_train_epochs == 5
    assert data.label_names == ["O", "B-X"] and training.label_names is None
    assert {"learning_rate", "num_train_epochs", "label_names", "output_dir"} <= parsed.explicit


def test_recipe_defaults_are_lowest(tmp_path):
    parsed = parse_args(
        NER_TYPES, ["--logging_steps", "7"], recipe_defaults={"logging_steps": 3, "output_dir": "x"}
    )
    assert parsed.values[3].logging_steps == 7 and parsed.values[3].output_dir == "x"
    assert "output_dir" not in parsed.explicit


def test_relative_data_paths_in_yaml_are_from_the_repository_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "configs").mkdir()
    config = write(tmp_path / "configs" / "c.yaml", "train_file: data/train.txt\n")
    data = parse_args(NER_TYPES, ["--config", config, "--output_dir", "o"]).values[1]
    assert data.train_file == str(tmp_path / "data" / "train.txt")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("learning_rat: 1\n", "unknown option 'learning_rat' (did you mean 'learning_rate'?)"),
        ("a: [1,\n", "not valid YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path, content, message):
    config = write(tmp_path / "c.yaml", content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_args(NER_TYPES, ["--config", config])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        parse_args(NER_TYPES, ["--config", str(tmp_path / "nope.yaml")])


def recipe_cli_error(argv: list[str], env: dict[str, str] | None = None, recipe: str = "ner") -> str:
    """Run a recipe as a script (as users do) with `argv`; check that it fails the way users should see,
    exit code 2 and no traceback, and return the one line it printed last."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "recipes" / f"{recipe}.py"), *argv],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
    return completed.stderr.strip().splitlines()[-1]


def test_config_errors_from_the_command_line_are_one_line(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    assert recipe_cli_error(["--config", missing]) == f"{missing}: config file not found"
    broken = write(tmp_path / "broken.yaml", "learning_rate: 1.0e-4\nlabel_names: [O,\n")
    assert recipe_cli_error(["--config", broken]).startswith(f"{broken}:3: not valid YAML: ")


def test_unknown_flag_exits_with_usage():
    with pytest.raises(SystemExit) as caught:
        parse_args(NER_TYPES, ["--no_such_flag", "1"])
    assert caught.value.code == 2


def test_checks_name_the_field():
    with pytest.raises(ConfigError, match="--tag_scheme must be 'keep' or 'iob2'"):
        parse_args(NER_TYPES, ["--tag_scheme", "bio"])
    with pytest.raises(ConfigError, match="--stride"):
        parse_args(NER_TYPES, ["--max_seq_length", "16", "--stride", "12"])


@pytest.mark.parametrize(
    ("argv", "stride"),
    [
        ([], 32),  # the recipe's window of 128
        (["--max_seq_length", "64"], 16),  # the regression: the default stride follows the window
        (["--max_seq_length", "8"], 2),
        (["--max_seq_length", "512"], 128),
        (["--max_seq_length", "64", "--stride", "31"], 31),  # the widest a 64-token window allows
        (["--stride", "0"], 0),
    ],
)
def test_default_stride_follows_the_window(argv, stride):
    assert parse_args(NER_TYPES, [*argv, "--output_dir", "o"]).values[1].stride == stride


@pytest.mark.parametrize(
    ("yaml_text", "argv"),
    [
        ("", ["--max_seq_length", "64", "--stride", "32"]),  # both flags given: the user's stride is refused
        ("stride: 32\n", ["--max_seq_length", "64"]),  # a stride set in the config file is the user's too
        ("max_seq_length: 64\nstride: 40\n", []),
    ],
)
def test_only_a_stride_the_user_gave_is_refused(tmp_path, yaml_text, argv):
    config = write(tmp_path / "c.yaml", yaml_text or "output_dir: o\n")
    with pytest.raises(ConfigError, match=r"--stride must be between 0 and half the window \(31 for"):
        parse_args(NER_TYPES, ["--config", config, *argv])


@pytest.mark.parametrize(
    ("argv", "save"),
    [
        (["--load_best_model_at_end"], ("epoch", 500)),  # saves follow the recipes' per-epoch evaluation
        (["--load_best_model_at_end", "--eval_strategy", "steps", "--eval_steps", "7"], ("steps", 7)),
        (["--load_best_model_at_end", "--eval_strategy", "steps", "--logging_steps", "4"], ("steps", 4)),
        (
            [
                "--load_best_model_at_end",
                "--eval_strategy",
                "steps",
                "--save_steps",
                "14",
                "--eval_steps",
                "7",
            ],
            ("steps", 14),
        ),
        (["--load_best_model_at_end", "--save_strategy", "best"], ("best", 500)),
        (["--eval_strategy", "steps"], ("steps", 500)),  # nothing to follow without load_best_model_at_end
    ],
)
def test_save_schedule_follows_evaluation_when_going_back_to_the_best(argv, save):
    types = recipe_types("ner")
    training = parse_args(types, [*argv, "--output_dir", "o"], recipe_defaults={"eval_strategy": "epoch"})
    assert (training.values[-1].save_strategy.value, training.values[-1].save_steps) == save


def test_a_save_schedule_the_user_gave_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="requires the save and eval strategy to match") as caught:
        parse_args(
            NER_TYPES,
            ["--load_best_model_at_end", "--save_strategy", "steps", "--output_dir", "o"],
            recipe_defaults={"eval_strategy": "epoch"},
        )
    assert "\n" not in str(caught.value)


def test_max_seq_length_alone_runs_from_the_command_line(tmp_path, tiny_bert_dir, ner_files):
    """The regression as users met it: a recipe launched with --max_seq_length 64 and nothing else about
    windows trains (before, it stopped on the default stride)."""
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes" / "ner.py"),
            "--model_name_or_path",
            tiny_bert_dir,
            "--train_file",
            ner_files["train_file"],
            "--max_seq_length",
            "16",
            "--max_steps",
            "1",
            "--output_dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    config = json.loads((tmp_path / "out" / "run_config.json").read_text())
    assert config["NerDataArguments"]["stride"] == 4


# hp_space.yaml files are search spaces (--hp_search_space), tested in test_hp_search.py.
RECIPE_CONFIGS = sorted(
    p for p in (REPO / "recipes" / "configs").rglob("*.yaml") if p.name != "hp_space.yaml"
)


def recipe_types(task: str):
    return runpy.run_path(str(REPO / "recipes" / f"{task}.py"), run_name="recipe")["ARGUMENT_TYPES"]


@pytest.mark.parametrize("config", RECIPE_CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_yaml_parses(config):
    task = config.parent.name
    header = []
    for line in config.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    command = f"recipes/{task}.py --config recipes/configs/{task}/{config.name}"
    assert any(command in line for line in header), "the header comment gives the launch command"
    parse_args(recipe_types(task), ["--config", str(config)])


def readme_commands() -> list[list[str]]:
    """Recipe commands in the README's bash blocks, as argument lists."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    commands = []
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        match = re.search(r"(recipes/\w+\.py.*)$", line.split(" #")[0].strip())
        if match:
            commands.append(shlex.split(match.group(1)))
    return commands


def test_readme_has_launch_commands():
    assert readme_commands(), "README shows no recipe command"


@pytest.mark.parametrize("command", readme_commands(), ids=lambda c: " ".join(c)[:60])
def test_every_readme_command_parses(command):
    script, *argv = command
    task = script.removeprefix("recipes/").removesuffix(".py")
    parse_args(recipe_types(task), argv)


def test_going_back_to_the_best_without_a_validation_split_is_refused(tmp_path, ner_files):
    line = recipe_cli_error(
        ["--train_file", ner_files["train_file"], "--load_best_model_at_end", "--output_dir", str(tmp_path)]
    )
    assert line == "--load_best_model_at_end needs a validation split (give --validation_file)"
