"""Slow tier: the real offline all-MiniLM-L6-v2 on the bundled sample (make test-slow)."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_ner_default_run_reaches_the_f1_floor(ner_recipe, tmp_path):
    output = tmp_path / "ner"
    ner_recipe(["--output_dir", str(output), "--disable_tqdm", "true", "--save_strategy", "no"])
    results = json.loads((output / "all_results.json").read_text())
    assert results["test_f1"] >= 0.5, results["test_f1"]
    assert results["eval_f1"] >= 0.5, results["eval_f1"]


def test_classify_default_run_learns_the_sample(tmp_path):
    import runpy

    from tests.conftest import REPO

    main = runpy.run_path(str(REPO / "recipes" / "classify.py"), run_name="classify_recipe")["main"]
    output = tmp_path / "classify"
    main(["--output_dir", str(output), "--disable_tqdm", "true", "--save_strategy", "no"])
    results = json.loads((output / "all_results.json").read_text())
    assert results["test_accuracy"] >= 0.85, results["test_accuracy"]


def test_reward_model_default_run_beats_the_length_rule(tmp_path):
    import runpy

    from tests.conftest import REPO

    main = runpy.run_path(str(REPO / "recipes" / "reward_model.py"), run_name="reward_recipe")["main"]
    output = tmp_path / "reward"
    main(["--output_dir", str(output), "--disable_tqdm", "true", "--save_strategy", "no"])
    results = json.loads((output / "all_results.json").read_text())
    assert results["test_accuracy"] > results["test_longer_wins_accuracy"], results
