"""Hyperparameter search (--hp_search_trials, --hp_search_space), confidence intervals in a recipe's results,
--metric, and their bad inputs."""

import json
from pathlib import Path

import pytest

from mossrl_hf import hp_search
from mossrl_hf.errors import USER_ERROR_EXIT_CODE, ConfigError, run_main
from mossrl_hf.metrics import modules
from tests.conftest import REPO, write
from tests.test_ner_recipe import run_args

SHIPPED_SPACES = sorted((REPO / "recipes" / "configs").rglob("hp_space.yaml"))
TASK_OF_FOLDER = {"ner": "ner", "classify": "classification", "reward_model": "reward_model"}


@pytest.mark.parametrize("path", SHIPPED_SPACES, ids=lambda p: p.parent.name)
def test_shipped_spaces_parse(path):
    task = TASK_OF_FOLDER[path.parent.name]
    method = (
        "lora" if any(p.name.startswith("lora") for p in hp_search.load_space(str(path), task)) else "none"
    )
    space = hp_search.check_space(str(path), task, method)
    assert {"learning_rate", "per_device_train_batch_size", "num_train_epochs"} <= {p.name for p in space}
    header = path.read_text().splitlines()[:4]
    assert any(
        f"--hp_search_space recipes/configs/{path.parent.name}/hp_space.yaml" in line for line in header
    )


def test_every_recipe_has_a_shipped_and_a_default_space():
    assert {path.parent.name for path in SHIPPED_SPACES} == set(TASK_OF_FOLDER)
    for task in TASK_OF_FOLDER.values():
        names = {parameter.name for parameter in hp_search.load_space(None, task)}
        assert names == {"learning_rate", "per_device_train_batch_size", "num_train_epochs", "warmup_steps"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("warmup_ratio: {low: 0.0, high: 0.1}\n", r":1: unknown search option 'warmup_ratio'"),
        ("learning_rate: {low: 1.0e-3, high: 1.0e-4}\n", r":1: learning_rate: empty range"),
        ("per_device_train_batch_size: []\n", r":1: per_device_train_batch_size: empty list of choices"),
        ("num_train_epochs: {low: 1.5, high: 3}\n", r"num_train_epochs: low and high must be integers"),
        ("learning_rate: {low: 0.0, high: 1.0e-3, log: true}\n", r"a log range needs low > 0"),
        ("learning_rate: 1.0e-4\n", r"expected \{low: ..., high: ...\[, log: true\]\}"),
    ],
)
def test_bad_spaces_are_refused_with_their_line(tmp_path, text, message):
    path = write(tmp_path / "space.yaml", text)
    with pytest.raises(ConfigError, match=message):
        hp_search.load_space(path, "ner")


def test_a_peft_knob_for_another_method_is_refused(tmp_path):
    path = write(tmp_path / "space.yaml", "lora_r: [4, 8]\n")
    with pytest.raises(ConfigError, match="lora_r acts on --peft_method lora or dora, not none"):
        hp_search.check_space(path, "ner", "none")


def test_two_trial_search_writes_two_trials_and_a_final_run(ner_recipe, tiny_bert_dir, tmp_path):
    space = write(
        tmp_path / "space.yaml",
        "learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}\nwarmup_steps: [0, 1]\nlora_r: [2, 4]\n",
    )
    output = tmp_path / "run"
    flags = {"hp_search_trials": 2, "hp_search_space": space, "use_lora": True, "bootstrap_samples": 200}
    results = ner_recipe(run_args(tiny_bert_dir, output, **flags))
    trials = [json.loads(line) for line in (output / "hp_search.jsonl").read_text().splitlines()]
    assert [trial["trial"] for trial in trials] == [0, 1]
    for trial in trials:
        assert set(trial["params"]) == {"learning_rate", "warmup_steps", "lora_r"}
        assert 0.0 <= trial["eval_f1"] <= 1.0 and trial["pruned"] in (True, False)
    record = json.loads((output / "run_config.json").read_text())["hp_search"]
    best = trials[record["best_trial"]]
    assert record["best_params"] == best["params"] and record["best_value"] == best["eval_f1"]
    assert record["objective"] == "eval_f1" and record["trials"] == 2
    # The final run trained with the best values and was scored as usual.
    adapter = json.loads((output / "adapter_config.json").read_text())
    assert adapter["r"] == best["params"]["lora_r"]
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert results["hp_search_best_trial"] == record["best_trial"]
    all_results = json.loads((output / "all_results.json").read_text())
    low, high = all_results["test_f1_ci95"]
    assert low <= all_results["test_f1"] <= high
    assert not list(output.glob("run-*"))  # trials leave no checkpoint folders


def test_intervals_in_results_and_card_and_off_with_zero(ner_recipe, tiny_bert_dir, tmp_path):
    output = tmp_path / "run"
    ner_recipe(run_args(tiny_bert_dir, output, bootstrap_samples=300))
    results = json.loads((output / "all_results.json").read_text())
    for name in ("f1", "precision", "recall", "strict_f1", "accuracy"):
        low, high = results[f"test_{name}_ci95"]
        assert 0.0 <= low <= results[f"test_{name}"] <= high <= 1.0
    assert not any(key.startswith("eval_") and key.endswith("_ci95") for key in results)
    card = (output / "README.md").read_text()
    assert f"[{results['test_f1_ci95'][0]:.4f}, {results['test_f1_ci95'][1]:.4f}]" in card
    ner_recipe(run_args(tiny_bert_dir, tmp_path / "off", bootstrap_samples=0))
    off = json.loads((tmp_path / "off" / "all_results.json").read_text())
    assert not any(key.endswith("_ci95") for key in off)


def test_metric_module_by_path_gives_the_same_figures(ner_recipe, tiny_bert_dir, tmp_path):
    own = ner_recipe(run_args(tiny_bert_dir, tmp_path / "own", bootstrap_samples=0))
    by_path = str(modules.module_file("ner"))
    swapped = ner_recipe(run_args(tiny_bert_dir, tmp_path / "path", metric=by_path, bootstrap_samples=0))
    figures = [key for key in own if key.startswith("test_") and not key.endswith(("runtime", "per_second"))]
    assert "test_f1" in figures and "test_strict_PER_f1" in figures
    assert {key: swapped[key] for key in figures} == {key: own[key] for key in figures}


def _refused(recipe, argv, capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        run_main(recipe, argv)
    assert caught.value.code == USER_ERROR_EXIT_CODE
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"bootstrap_samples": -1}, "--bootstrap_samples must be 0 (off) or more, not -1"),
        ({"hp_search_trials": -2}, "--hp_search_trials must be 0 (no search) or more, not -2"),
        ({"hp_search_space": "space.yaml"}, "--hp_search_space needs --hp_search_trials N"),
        ({"hp_search_trials": 2, "validation_file": None}, "--hp_search_trials needs a validation split"),
        (
            {"metric": "no_such_metric_module_xyz"},
            "--metric no_such_metric_module_xyz: no evaluate module found",
        ),
        (
            {"hp_search_trials": 2, "hp_search_space": "bad.yaml"},
            "bad.yaml:1: unknown search option 'warmup_ratio'",
        ),
    ],
)
def test_bad_inputs_are_one_line_before_training(ner_recipe, tiny_bert_dir, tmp_path, capsys, extra, message):
    write(tmp_path / "bad.yaml", "warmup_ratio: {low: 0.0, high: 0.1}\n")
    extra = {
        key: str(tmp_path / value) if key == "hp_search_space" else value for key, value in extra.items()
    }
    argv = run_args(tiny_bert_dir, tmp_path / "run", **{k: v for k, v in extra.items() if v is not None})
    if "validation_file" in extra:
        at = argv.index("--validation_file")
        del argv[at : at + 2]
    line = _refused(ner_recipe, argv, capsys)
    assert message in line and "\n" not in line
    assert not (Path(tmp_path / "run") / "train_results.json").exists()


def test_the_default_space_leaves_out_what_the_user_set():
    names = {p.name for p in hp_search.load_space(None, "ner", {"num_train_epochs", "learning_rate"})}
    assert names == {"per_device_train_batch_size", "warmup_steps"}
    every = set(hp_search.DEFAULT_SPACES["ner"])
    with pytest.raises(ConfigError, match="every option of the default space is set"):
        hp_search.load_space(None, "ner", every)


def test_the_pruner_compares_the_nth_evaluation_across_batch_sizes():
    import optuna

    pruner = hp_search._median_pruner(startup_trials=1)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    reports = {0: [(10, 0.5), (20, 0.6)], 1: [(7, 0.2), (14, 0.9)], 2: [(5, 0.7), (10, 0.8)]}

    def objective(trial):
        for step, value in reports[trial.number]:  # other batch sizes: other steps per epoch
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=3)
    states = [trial.state.name for trial in study.trials]
    assert states == ["COMPLETE", "PRUNED", "COMPLETE"] and pruner.pruned == {1}
