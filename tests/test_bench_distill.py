"""The bench's teacher_from (a student entry distils from an earlier entry's saved model) and the shipped
distill_adv suite."""

import json
import runpy

import pytest

from mossrl_hf.bench import runner
from mossrl_hf.bench.__main__ import main as bench_main
from mossrl_hf.bench.suite import load_suite, select
from mossrl_hf.cli import parse_args
from mossrl_hf.errors import ConfigError
from tests.conftest import REPO, write
from tests.test_bench import NER_DATA, bench_args


def test_distill_adv_suite_parses_and_chains_teachers(tmp_path):
    suite = load_suite("distill_adv", str(tmp_path))
    teachers = {entry.name: entry.teacher_from for entry in suite.entries if entry.teacher_from}
    assert teachers == {
        "ner-distilled3": "ner-none",
        "sst2-distilled3": "sst2-none",
        "ner-cache-off": "ner-none",
        "ner-cache-on": "ner-none",
    }
    assert suite.entry("ner-distilled3").compare_to == "ner-student3"
    epochs = load_suite("distill_epochs", str(tmp_path))
    starts = {entry.name: entry.model_from for entry in epochs.entries if entry.model_from}
    assert starts == {
        "ner-student3-from-teacher": "ner-teacher",
        "ner-distilled3-from-teacher": "ner-teacher",
        "sst2-student3-from-teacher": "sst2-teacher",
        "sst2-distilled3-from-teacher": "sst2-teacher",
    }
    assert [entry.name for entry in select(suite, ["ner-distilled3"])] == ["ner-none", "ner-distilled3"]
    workspace = runner.Workspace(REPO, tmp_path / "bench", {})
    command = runner.entry_command(suite.entry("ner-distilled3"), workspace)
    position = command.index("--teacher_model_name_or_path")
    assert command[position + 1] == str(workspace.entry_dir("ner-none"))
    for entry in suite.entries:
        recipe = runpy.run_path(str(REPO / "recipes" / f"{entry.recipe}.py"), run_name="bench_check")
        argv = [*runner.render_flags(entry.args), "--output_dir", str(tmp_path / "out")]
        parse_args(recipe["ARGUMENT_TYPES"], argv, recipe["RECIPE_DEFAULTS"])


@pytest.mark.parametrize(
    "text",
    [
        "entries: [{name: s, recipe: ner, teacher_from: t}, {name: t, recipe: ner}]",
        "entries: [{name: t, recipe: classify}, {name: s, recipe: ner, teacher_from: t}]",
        "entries: [{name: t, recipe: classify}, {name: s, recipe: ner, model_from: t}]",
    ],
)
def test_teacher_and_model_from_must_name_an_earlier_entry_of_the_recipe(tmp_path, text):
    with pytest.raises(ConfigError, match="(teacher|model)_from 't' is not an earlier ner entry"):
        load_suite(write(tmp_path / "bad.yaml", text), "/data")


TINY = f"""
name: tiny-distill
defaults: {{max_steps: 2, per_device_train_batch_size: 2, learning_rate: 1.0e-3, max_seq_length: 32,
  save_strategy: "no", disable_tqdm: true, seed: 42}}
entries:
  - {{name: teacher, recipe: ner, reference: true, args: {{{NER_DATA}}}}}
  - {{name: student, recipe: ner, teacher_from: teacher, args: {{{NER_DATA}, student_num_layers: 1}}}}
  - {{name: cut, recipe: ner, model_from: teacher, teacher_from: teacher,
      args: {{{NER_DATA}, student_num_layers: 1}}}}
"""


def test_a_student_entry_distils_from_its_teacher_entry(tiny_bert_dir, tmp_path):
    suite = write(tmp_path / "distill.yaml", TINY)
    assert bench_main(bench_args(suite, tiny_bert_dir, tmp_path / "out")) == 0
    records = {
        record["name"]: record
        for record in json.loads((tmp_path / "out" / "results.json").read_text())["entries"]
    }
    student = records["student"]
    assert student["teacher_from"] == "teacher" and student["status"] == "ok"
    assert student["metrics"]["teacher_total_params"] == records["teacher"]["parameters"]["total"]
    # `cut` starts from the teacher's saved model (over --model): one of its layers and its head.
    cut, teacher_dir = records["cut"], records["teacher"]["output_dir"]
    assert cut["status"] == "ok" and cut["model_from"] == "teacher"
    assert cut["command"][cut["command"].index("--model_name_or_path") + 1] == teacher_dir
    saved = json.loads((tmp_path / "out" / "entries" / "cut" / "config.json").read_text())
    teacher_config = json.loads((tmp_path / "out" / "entries" / "teacher" / "config.json").read_text())
    assert saved["num_hidden_layers"] == 1 and saved["id2label"] == teacher_config["id2label"]
