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
