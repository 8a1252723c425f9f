"""The benchmark harness's bookkeeping on a tiny random BERT: the results schema, the environment, the
reports, ratios, `--compare`, a failing entry, the reproducibility check. No time is asserted: these are
not timed tests, only checks that the figures are recorded and combined correctly."""

import json
import runpy
import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from mossrl_hf.bench import check, compare, machine, runner
from mossrl_hf.bench.__main__ import main as bench_main
from mossrl_hf.bench.child import record_gpu_peak
from mossrl_hf.bench.suite import SUITES_DIR, load_suite, parse_extra, select, target_met
from mossrl_hf.cli import parse_args
from mossrl_hf.errors import ConfigError
from mossrl_hf.reporting import sha256_of
from tests.conftest import FIXTURES, REPO, write

NER_DATA = (
    'train_file: "{data_dir}/ner_train.txt", validation_file: "{data_dir}/ner_test.txt", '
    'test_file: "{data_dir}/ner_test.txt"'
)
TINY_SUITE = f"""
name: tiny
description: two NER arms, a broken entry and prediction speed on the tiny model
defaults: {{max_steps: 2, per_device_train_batch_size: 2, learning_rate: 1.0e-3, max_seq_length: 32,
  stride: 8, save_strategy: "no", disable_tqdm: true, seed: 42}}
entries:
  - name: ner-reference
    recipe: ner
    reference: true
    args: {{{NER_DATA}, train_sampling_strategy: random, decoding: argmax}}
  - name: ner-optimized
    recipe: ner
    args: {{{NER_DATA}}}
    targets: {{peak_rss: "<= 100", metric_difference: ">= -1", real_tokens_per_second: ">= 1000"}}
  - name: ner-broken
    recipe: ner
    args: {{{NER_DATA}, decoding: nonsense}}
  - name: ner-speed
    kind: predict_speed
    model_from: ner-reference
    args: {{test_file: "{{data_dir}}/ner_test.txt"}}
    targets: {{speedup: "> 0", tagger_f1_equals_recipe_test_f1: true}}
"""


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory) -> str:
    return write(tmp_path_factory.mktemp("suite") / "tiny.yaml", TINY_SUITE)


def bench_args(suite: str, model: str, output: Path, *extra: str) -> list[str]:
    return ["--suite", suite, "--data_dir", str(FIXTURES), "--model", model, "--output", str(output), *extra]


@pytest.fixture(scope="module")
def bench_run(tiny_suite, tiny_bert_dir, tmp_path_factory):
    """The tiny suite run once through the command (4 entries, each its own process)."""
    output = tmp_path_factory.mktemp("bench")
    status = bench_main(bench_args(tiny_suite, tiny_bert_dir, output))
    results = json.loads((output / "results.json").read_text())
    return status, output, results, {record["name"]: record for record in results["entries"]}


def test_results_schema_and_environment(bench_run, tiny_bert_dir):
    status, output, results, entries = bench_run
    assert status == 1  # one entry failed; the others still ran and everything was written
    assert list(entries) == ["ner-reference", "ner-optimized", "ner-broken", "ner-speed"]
    assert {"schema_version", "suite", "command", "environment", "entries", "ratios", "summary"} <= set(
        results
    )
    assert results["command"].startswith("python -m mossrl_hf.bench --suite")
    assert results["summary"] == {
        "entries": 4,
        "ok": 3,
        "not_ok": ["ner-broken"],
        "targets": 5,
        "targets_met": 4,
    }
    env = results["environment"]
    for key in ("packages", "torch_threads", "cpu_model", "cpu_count", "usable_cores", "gpu_names", "git"):
        assert key in env, key
    assert env["packages"]["torch"] and env["packages"]["transformers"]
    if (REPO / ".git").exists():
        assert len(env["git"]["commit"]) == 40
    assert env["variables"]["PYTHONHASHSEED"] == "0"
    train = env["data_files"]["ner-reference:train_file"]
    assert train["sha256"] == sha256_of(FIXTURES / "ner_train.txt")

    for name in ("ner-reference", "ner-optimized"):
        record = entries[name]
        assert record["status"] == "ok" and record["returncode"] == 0
        assert record["peak_rss_bytes"] > 50 * 2**20 and record["wall_seconds"] > 0
        assert record["peak_gpu_memory_bytes"] is None  # CPU run
        assert record["metric"] == "test_f1" and record["metric_value"] == record["metrics"]["test_f1"]
        speed = record["throughput"]
        assert speed["train_runtime"] == record["metrics"]["train_runtime"]
        assert 0 < speed["real_tokens"] <= speed["padded_tokens"]
        assert speed["real_tokens_per_second"] == speed["real_tokens"] / speed["train_runtime"]
        assert speed["padding_waste"] == 1 - speed["real_tokens"] / speed["padded_tokens"]
        assert record["eval_runtime"] is not None and record["test_runtime"] is not None
        assert record["world_size"] == 1
        data_args = record["run_config"]["NerDataArguments"]
        assert data_args["train_file"] == str(FIXTURES / "ner_train.txt")
        assert record["run_config"]["ModelArguments"]["model_name_or_path"] == tiny_bert_dir
        assert record["environment"]["data_files"]["train"]["sha256"] == train["sha256"]
    assert entries["ner-reference"]["args"]["decoding"] == "argmax"
    assert entries["ner-reference"]["run_config"]["NerDataArguments"]["decoding"] == "argmax"
    # The thread count each run used, beside the harness's own (the runs inherit its environment here).
    threads = env["run_torch_threads"]
    assert threads == {
        "ner-reference": entries["ner-reference"]["environment"]["torch_threads"],
        "ner-optimized": entries["ner-optimized"]["environment"]["torch_threads"],
        "ner-speed": entries["ner-speed"]["predict_speed"]["torch_threads"],
    }
    assert set(threads.values()) == {env["torch_threads"]}
    assert f"torch threads {env['torch_threads']}," in (output / "results.md").read_text()


def test_failed_entry_is_recorded_and_the_suite_goes_on(bench_run):
    _, output, _, entries = bench_run
    broken = entries["ner-broken"]
    assert broken["status"] == "failed" and broken["returncode"] == 2
    assert broken["error"] == "exit code 2"
    assert "--decoding must be 'constrained' or 'argmax'" in broken["log_tail"]
    assert Path(broken["log_file"]).is_file()
    assert entries["ner-speed"]["status"] == "ok"  # ran after the failure


def test_ratios_against_the_reference(bench_run):
    _, _, results, entries = bench_run
    reference, optimized = entries["ner-reference"], entries["ner-optimized"]
    assert optimized["compare_to"] == "ner-reference"
    (ratio,) = results["ratios"]
    ref_speed, speed = reference["throughput"], optimized["throughput"]
    assert ratio["entry"] == "ner-optimized" and ratio["reference"] == "ner-reference"
    assert (
        ratio["real_tokens_per_second"]
        == speed["real_tokens_per_second"] / ref_speed["real_tokens_per_second"]
    )
    assert ratio["train_samples_per_second"] == (
        speed["train_samples_per_second"] / ref_speed["train_samples_per_second"]
    )
    assert ratio["wall_time_speedup"] == reference["wall_seconds"] / optimized["wall_seconds"]
    assert ratio["train_time_speedup"] == ref_speed["train_runtime"] / speed["train_runtime"]
    assert ratio["peak_rss"] == optimized["peak_rss_bytes"] / reference["peak_rss_bytes"]
    assert ratio["metric_difference"] == optimized["metric_value"] - reference["metric_value"]
    judged = {result["name"]: result["met"] for result in optimized["target_results"]}
    assert judged == {"peak_rss": True, "metric_difference": True, "real_tokens_per_second": False}


def test_model_flops_of_a_run(bench_run):
    from safetensors.torch import load_file

    _, _, _, entries = bench_run
    record = entries["ner-optimized"]
    speed = record["throughput"]
    saved = load_file(str(Path(record["output_dir"]) / "model.safetensors"))
    parameters = sum(tensor.numel() for tensor in saved.values())
    assert speed["model_parameters"] == parameters
    assert speed["training_flops"] == 6.0 * parameters * speed["real_tokens"]
    assert speed["model_flops_per_second"] == speed["training_flops"] / speed["train_runtime"]
    assert speed["mfu"] is None and speed["mfu_precision"] == "fp32"  # a CPU has no peak in the table
    assert speed["model_flops_per_second"] / 1e12 > 0


def test_peak_flops_and_mfu():
    from mossrl_hf.bench.flops import model_flops, peak_flops_per_second

    assert peak_flops_per_second("NVIDIA H100 80GB HBM3", "bf16") == 989e12
    assert peak_flops_per_second("NVIDIA H100 PCIe", "fp32") == 51e12
    assert peak_flops_per_second("Tesla T4", "bf16") is None and peak_flops_per_second(None, "bf16") is None
    figures = model_flops(1e8, 1e6, 10.0, "NVIDIA H200", "bf16")
    assert figures["training_flops"] == 6e14 and figures["model_flops_per_second"] == 6e13
    assert figures["mfu"] == 6e13 / 989e12
    assert model_flops(None, 1e6, 10.0, "NVIDIA H200", "bf16")["mfu"] is None


def test_random_model_of_the_size_asked(tiny_bert_dir, tmp_path):
    from transformers import AutoModelForTokenClassification

    from mossrl_hf.bench.random_model import SIZES, build_random_model

    parameters = build_random_model(str(tmp_path), "minilm", tokenizer=tiny_bert_dir)
    model = AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=3)
    config = model.config
    assert {key: getattr(config, key) for key in SIZES["minilm"]} == SIZES["minilm"]
    assert config.vocab_size == len(AutoTokenizer.from_pretrained(tmp_path))
    hidden, feed_forward, layers = 384, 1536, 6
    attention = 4 * (hidden * hidden + hidden) + 2 * hidden  # q, k, v, output; layer norm
    per_layer = attention + 2 * hidden * feed_forward + feed_forward + hidden + 2 * hidden
    embeddings = (config.vocab_size + 512 + 2) * hidden + 2 * hidden
    assert parameters == embeddings + layers * per_layer + hidden * hidden + hidden  # + pooler


def test_prediction_speed_entry(bench_run):
    _, _, _, entries = bench_run
    record = entries["ner-speed"]
    speed = record["predict_speed"]
    assert record["model_from"] == "ner-reference"
    assert speed["model"] == entries["ner-reference"]["output_dir"]
    assert speed["sentences"] == 2 and speed["words"] == 12
    assert speed["speedup"] == speed["pipeline_seconds"] / speed["tagger_seconds"]
    assert speed["speedup_second_pass"] == speed["pipeline_seconds"] / speed["tagger_second_pass_seconds"]
    assert speed["second_pass_tags_equal"] is True
    assert speed["decoding"] == "argmax" and speed["max_length"] == 32 and speed["stride"] == 8
    assert speed["recipe_f1_comparable"] is True
    assert speed["recipe_test_f1"] == entries["ner-reference"]["metrics"]["test_f1"]
    assert speed["tagger_f1_equals_recipe_test_f1"] is True
    assert 0.0 <= speed["pipeline_f1"] <= 1.0
    assert [result["met"] for result in record["target_results"]] == [True, True]


def test_markdown_table_and_plot(bench_run):
    _, output, _, entries = bench_run
    text = (output / "results.md").read_text()
    assert "python -m mossrl_hf.bench --suite" in text
    for name in entries:
        assert f"| {name} |" in text
    assert "| ner-optimized | ner-reference | ×" in text
    assert "(second pass ×" in text and "NOT the same" not in text
    assert "failed: exit code 2" in text
    assert (output / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_mode_finds_identical_runs(tiny_suite, tiny_bert_dir, tmp_path, capsys):
    status = bench_main(bench_args(tiny_suite, tiny_bert_dir, tmp_path, "--check", "ner-reference"))
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "check" / "check.json").read_text())
    assert status == 0, printed
    assert result["identical"] is True and result["differences"] == []
    assert result["compared_figures"] > 10
    assert "test_predictions.conll" in result["compared_files"]
    assert "identical" in printed


def test_check_differences_ignore_the_clock():
    first = {"test_f1": 0.5, "train_runtime": 1.0, "train_samples_per_second": 3.0, "train_loss": 1.0}
    second = {"test_f1": 0.5000001, "train_runtime": 2.0, "train_samples_per_second": 1.0, "extra": 1}
    found = check.differences(first, second)
    assert [item["key"] for item in found] == ["extra", "test_f1", "train_loss"]


def synthetic_results(name: str, wall: float, tokens: float, rss: int, f1: float) -> dict:
    record = {
        "name": name,
        "status": "ok",
        "wall_seconds": wall,
        "peak_rss_bytes": rss,
        "metric_value": f1,
        "throughput": {"train_runtime": wall / 2, "real_tokens_per_second": tokens, "padding_waste": None},
    }
    failed = {"name": "other", "status": "failed", "wall_seconds": 1.0}
    return {"suite": {"name": "s"}, "environment": {"cpu_model": "cpu"}, "entries": [record, failed]}


def test_compare_prints_ratios(tmp_path, capsys):
    first = synthetic_results("ner-optimized", 100.0, 2000.0, 1_000_000_000, 0.80)
    second = synthetic_results("ner-optimized", 40.0, 5000.0, 900_000_000, 0.82)
    a = write(tmp_path / "a.json", json.dumps(first))
    b = write(tmp_path / "b.json", json.dumps(second))
    assert bench_main(["--compare", a, b]) == 0
    printed = capsys.readouterr().out
    rows = {row["figure"]: row for row in compare.compare_rows(first, second)}
    assert set(rows) == {
        "wall_seconds",
        "train_runtime",
        "real_tokens_per_second",
        "peak_rss_bytes",
        "metric_value",
    }
    for figure, a_value, b_value in (
        ("wall_seconds", 100.0, 40.0),
        ("train_runtime", 50.0, 20.0),
        ("real_tokens_per_second", 2000.0, 5000.0),
        ("peak_rss_bytes", 1e9, 9e8),
        ("metric_value", 0.80, 0.82),
    ):
        assert rows[figure]["ratio"] == b_value / a_value
        line = next(line for line in printed.splitlines() if rows[figure]["label"] in line)
        assert line.split()[-1] == f"{b_value / a_value:.3f}"
    assert "other" not in printed  # a failed entry is not compared


def test_shipped_suites_parse_as_recipe_flags(tmp_path):
    """Every recipe entry of the shipped suites is a valid command line for its recipe."""
    for suite_name in ("quick", "full"):
        suite = load_suite(suite_name, str(tmp_path))
        references = {entry.recipe for entry in suite.entries if entry.reference}
        assert references == {"ner", "classify"}
        for entry in suite.entries:
            if entry.kind != "recipe":
                assert entry.model_from in {"ner-reference", "ner-bf16"}
                continue
            assert entry.reference or entry.compare_to == f"{entry.recipe}-reference"
            recipe = runpy.run_path(str(REPO / "recipes" / f"{entry.recipe}.py"), run_name="bench_check")
            argv = [*runner.render_flags(entry.args), "--output_dir", str(tmp_path / "out")]
            parse_args(recipe["ARGUMENT_TYPES"], argv, recipe["RECIPE_DEFAULTS"])
            assert entry.args["train_file"].startswith(str(tmp_path))
    assert (SUITES_DIR / "quick.yaml").is_file() and (SUITES_DIR / "full.yaml").is_file()


SEEDED = """
name: seeded
entries:
  - {name: ref, recipe: classify, reference: true, seeds: [1, 2], args: {train_file: "{data_dir}/t.csv"}}
  - {name: fast, recipe: classify, seeds: [1, 2], args: {train_file: "{data_dir}/t.csv", learning_rate: 1}}
  - {name: ner-a, recipe: ner, args: {}}
  - {name: speed, kind: predict_speed, model_from: ner-a}
"""


def test_suite_seeds_references_overrides_and_selection(tmp_path):
    path = write(tmp_path / "s.yaml", SEEDED)
    suite = load_suite(
        path, "/data", model="/models/m", extra=parse_extra(["num_train_epochs=2", "fp16=false"])
    )
    assert suite.names == ["ref-seed1", "ref-seed2", "fast-seed1", "fast-seed2", "ner-a", "speed"]
    fast = suite.entry("fast-seed2")
    assert fast.compare_to == "ref-seed2" and fast.seed == 2
    assert fast.args == {
        "train_file": "/data/t.csv",
        "learning_rate": 1,
        "seed": 2,
        "model_name_or_path": "/models/m",
        "num_train_epochs": 2,
        "fp16": False,
    }
    assert suite.entry("speed").args == {}  # recipe overrides are not prediction flags
    assert [e.name for e in select(suite, ["speed"])] == ["ner-a", "speed"]
    assert [e.name for e in select(suite, ["fast"])] == ["fast-seed1", "fast-seed2"]
    assert runner.render_flags({"a": True, "b": [1, 2], "c": None, "d": 0.5}) == [
        "--a",
        "true",
        "--b",
        "1",
        "2",
        "--d",
        "0.5",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entries: [{name: a, recipe: ner, colour: red}]", r"unknown key\(s\) colour"),
        ("entries: [{name: a, recipe: nope}]", "recipe must be one of"),
        ("entries: [{name: a, recipe: ner, args: {output_dir: x}}]", "set by the harness"),
        ("entries: [{name: a, kind: predict_speed, model_from: b}]", "not an earlier ner entry"),
        ("entries: [{name: a, recipe: ner}, {name: a, recipe: ner}]", "duplicate entry name"),
        ("entries: [{name: a, recipe: ner, targets: {x: 'about 2'}}]", "not OP NUMBER"),
        (
            "entries: [{name: a, recipe: ner, reference: true}, {name: b, recipe: ner, reference: true}, "
            "{name: c, recipe: ner}]",
            "several ner references",
        ),
    ],
)
def test_bad_suites_fail_with_one_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_suite(write(tmp_path / "bad.yaml", text), "/data")


def test_command_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such shipped suite"):
        bench_main(["--suite", "nope", "--data_dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="no such folder"):
        bench_main(["--suite", "quick", "--data_dir", str(tmp_path / "missing")])
    with pytest.raises(ConfigError, match="data files not found"):
        bench_main(["--suite", "quick", "--data_dir", str(tmp_path), "--output", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_targets():
    assert target_met(">= 2", 2.0) and not target_met(">= 2", 1.9)
    assert target_met("<= 1", 0.5) and target_met(True, True) and not target_met(True, False)
    assert target_met(">= 2", None) is None


def test_process_peak_memory_and_timeout(tmp_path):
    allocate = "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"
    result = runner.run_process([sys.executable, "-c", allocate], tmp_path / "a.log", {}, None)
    assert result.returncode == 0 and not result.timed_out
    assert result.peak_rss_bytes > 300 * 2**20
    result = runner.run_process(
        [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "b.log", {}, 0.5
    )
    assert result.timed_out and result.returncode != 0 and result.wall_seconds < 20
    assert (tmp_path / "b.log").read_text().startswith("$ ")


def test_machine_details(tmp_path):
    cpuinfo = write(tmp_path / "cpuinfo", "processor\t: 0\nmodel name\t: Test CPU @ 3GHz\n")
    assert machine.cpu_model(Path(cpuinfo)) == "Test CPU @ 3GHz"
    assert machine.cpu_model(tmp_path / "missing")
    record_gpu_peak(str(tmp_path / "gpu.json"))
    assert json.loads((tmp_path / "gpu.json").read_text()) == {"allocated": None, "reserved": None}


def test_peft_suite_parses_and_compares_each_method_with_full_fine_tuning(tmp_path):
    suite = load_suite("peft", str(tmp_path))
    references = {entry.name for entry in suite.entries if entry.reference}
    assert references == {"ner-none", "sst2-none", "hasent-none"}
    for entry in suite.entries:
        recipe = runpy.run_path(str(REPO / "recipes" / f"{entry.recipe}.py"), run_name="bench_check")
        argv = [*runner.render_flags(entry.args), "--output_dir", str(tmp_path / "out")]
        peft_args = parse_args(recipe["ARGUMENT_TYPES"], argv, recipe["RECIPE_DEFAULTS"]).values[2]
        assert peft_args.peft_method == entry.args["peft_method"]
        if not entry.reference:
            assert entry.compare_to == entry.name.split("-")[0] + "-none"


PEFT_SUITE = f"""
name: tiny-peft
description: full fine-tuning, BitFit and LoRA on the tiny model
defaults: {{max_steps: 2, per_device_train_batch_size: 2, learning_rate: 1.0e-3, max_seq_length: 32,
  save_strategy: "no", disable_tqdm: true, seed: 42}}
entries:
  - {{name: ner-none, recipe: ner, reference: true, method: none, args: {{{NER_DATA}, peft_method: none}}}}
  - {{name: ner-bitfit, recipe: ner, method: bitfit, args: {{{NER_DATA}, peft_method: bitfit}}}}
  - {{name: ner-lora, recipe: ner, method: lora, args: {{{NER_DATA}, peft_method: lora, lora_r: 2}}}}
"""


def test_a_method_comparison_reports_parameters_and_size(tiny_bert_dir, tmp_path):
    suite = write(tmp_path / "peft.yaml", PEFT_SUITE)
    assert bench_main(bench_args(suite, tiny_bert_dir, tmp_path / "out")) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    records = {record["name"]: record for record in results["entries"]}
    full, bitfit, lora = (records[name]["parameters"] for name in ("ner-none", "ner-bitfit", "ner-lora"))
    assert full["trainable"] == full["total"] > bitfit["trainable"] > 0
    assert lora["weights_bytes"] < full["weights_bytes"]  # an adapter and a head, not a model
    text = (tmp_path / "out" / "results.md").read_text()
    assert "## Which weights train" in text
    share = f"{bitfit['trainable']:,} ({bitfit['trainable'] / bitfit['total']:.2%})"
    assert f"| ner-bitfit | bitfit | {share} |" in text
    assert (tmp_path / "out" / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeds_give_each_arm_mean_and_std_and_a_paired_difference(tiny_suite, tiny_bert_dir, tmp_path):
    import statistics

    output = tmp_path / "seeds"
    argv = bench_args(
        tiny_suite, tiny_bert_dir, output, "--only", "ner-reference,ner-optimized", "--seeds", "42,43"
    )
    assert bench_main(argv) == 0
    results = json.loads((output / "results.json").read_text())
    records = {record["name"]: record for record in results["entries"]}
    assert list(records) == [
        "ner-reference-seed42",
        "ner-reference-seed43",
        "ner-optimized-seed42",
        "ner-optimized-seed43",
    ]
    assert records["ner-optimized-seed43"]["compare_to"] == "ner-reference-seed43"
    arms = results["over_seeds"]["arms"]
    for arm in ("ner-reference", "ner-optimized"):
        values = [records[f"{arm}-seed{seed}"]["metric_value"] for seed in (42, 43)]
        assert arms[arm]["seeds"] == [42, 43] and arms[arm]["values"] == values
        assert arms[arm]["mean"] == pytest.approx(statistics.fmean(values))
        assert arms[arm]["std"] == pytest.approx(statistics.stdev(values))
    (paired,) = results["over_seeds"]["paired"]
    assert (paired["entry"], paired["reference"], paired["seeds"]) == (
        "ner-optimized",
        "ner-reference",
        [42, 43],
    )
    # Counts read back from the runs' test_predictions.conll reproduce the recipes' own test_f1.
    assert paired["difference"] == pytest.approx(
        arms["ner-optimized"]["mean"] - arms["ner-reference"]["mean"]
    )
    low, high = paired["ci95"]
    assert low <= paired["difference"] <= high
    assert paired["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "no difference measured")
    text = (output / "results.md").read_text()
    assert "## Over seeds" in text and paired["verdict"] in text


@pytest.mark.parametrize("seeds", ["42,x", "42,42", ","])
def test_bad_seeds_are_refused(seeds):
    from mossrl_hf.bench.suite import parse_seeds

    with pytest.raises(ConfigError, match=f"--seeds {seeds}: expected"):
        parse_seeds(seeds)
