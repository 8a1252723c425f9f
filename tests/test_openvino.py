"""`--backend openvino`: the exported graph compiled by OpenVINO, float32 unless a bfloat16 autocast asks."""

import json
import shutil

import pytest

from mossrl_hf import predict, reward
from mossrl_hf.errors import ConfigError
from mossrl_hf.streaming import partial_path
from tests.conftest import write
from tests.test_streaming import SENTENCES, largest_difference, tag

openvino = pytest.importorskip("openvino")


def cpu_runs_bfloat16() -> bool:
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_openvino_runs_float32_by_default_and_tags_like_the_float_model(tagger_dir):
    exact = predict.load_tagger(tagger_dir)
    compiled = predict.load_tagger(tagger_dir, backend="openvino")
    # OpenVINO would choose bfloat16 on an AMX CPU by itself: the default must stay the recipe's precision.
    assert compiled.model.prediction_backend == "openvino-f32" and compiled.autocast is None
    assert largest_difference(compiled, exact) < 1e-4
    assert [r["tags"] for r in compiled(SENTENCES)] == [r["tags"] for r in exact(SENTENCES)]


def test_openvino_takes_the_autocast_as_its_precision(tagger_dir):
    exact = predict.load_tagger(tagger_dir)
    fast = predict.load_tagger(tagger_dir, backend="openvino", autocast="bfloat16")
    expected = "openvino-bf16" if cpu_runs_bfloat16() else "openvino-f32"
    assert fast.model.prediction_backend == expected
    assert fast.autocast is None  # the precision is OpenVINO's, not a torch autocast around it
    difference = largest_difference(fast, exact)
    assert difference < 0.2
    if expected == "openvino-bf16":
        assert difference > 1e-6  # really another precision: bfloat16 keeps 8 bits of mantissa
    records = fast(SENTENCES)
    assert [record["words"] for record in records] == [line.split() for line in SENTENCES]


def test_auto_autocast_follows_the_precision_the_recipe_evaluated_in(tagger_dir, tmp_path):
    trained_in_bf16 = tmp_path / "bf16-model"
    shutil.copytree(tagger_dir, trained_in_bf16)
    config = json.loads((trained_in_bf16 / "config.json").read_text())
    (trained_in_bf16 / "config.json").write_text(json.dumps({**config, "eval_autocast_dtype": "bfloat16"}))
    follows = predict.load_tagger(str(trained_in_bf16), backend="openvino")
    assert follows.model.prediction_backend == ("openvino-bf16" if cpu_runs_bfloat16() else "openvino-f32")
    overridden = predict.load_tagger(str(trained_in_bf16), backend="openvino", autocast="none")
    assert overridden.model.prediction_backend == "openvino-f32"


def test_the_prediction_command_streams_through_openvino(tagger_dir, tmp_path):
    text = write(tmp_path / "in.txt", "\n".join(SENTENCES) + "\n")
    records = tag(tagger_dir, text, tmp_path / "out.jsonl", "--backend", "openvino", "--chunk_size", "3")
    assert records == predict.load_tagger(tagger_dir)(SENTENCES)


def test_reward_scores_through_openvino_match_the_float_scores(scorer_dir):
    texts = ["a fine film", "dull", "what a great and moving story"]
    expected = reward.load_reward_function(scorer_dir)(texts)
    assert reward.load_reward_function(scorer_dir, backend="openvino")(texts) == pytest.approx(
        expected, abs=1e-5
    )
    fast = reward.load_reward_function(scorer_dir, backend="openvino", autocast="bfloat16")(texts)
    assert fast == pytest.approx(expected, abs=0.05)


def test_int8_with_openvino_is_refused_before_loading(tagger_dir, tmp_path):
    text = write(tmp_path / "in.txt", "mary left\n")
    output = tmp_path / "out.jsonl"
    with pytest.raises(ConfigError, match="--quantize int8 runs on --backend torch or onnx"):
        tag(tagger_dir, text, output, "--backend", "openvino", "--quantize", "int8")
    assert not output.exists() and not partial_path(output).exists()


def test_speed_bench_names_the_precision_openvino_ran_in(tagger_dir, tmp_path):
    from mossrl_hf.bench import predict_speed, report
    from tests.conftest import FIXTURES

    output = tmp_path / "speed.json"
    arguments = ["--model", tagger_dir, "--test_file", str(FIXTURES / "ner_test.txt")]
    flags = ["--backend", "openvino", "--autocast", "bfloat16"]
    predict_speed.main([*arguments, "--output", str(output), *flags])
    result = json.loads(output.read_text())
    assert result["prediction_backend"] == ("openvino-bf16" if cpu_runs_bfloat16() else "openvino-f32")
    # Not the recipe's own tagger: compared with the float tagger in the same run instead.
    assert result["tagger_f1_equals_recipe_test_f1"] is None and result["float_tagger_seconds"] > 0
    assert result["f1_change_vs_float_tagger"] == pytest.approx(
        result["tagger_f1"] - result["float_tagger_f1"]
    )
    assert report._tagger_kind(result) == result["prediction_backend"].replace("-", " ")


def compiled_layer_types(tagger_dir, tmp_path, monkeypatch, tuning: dict) -> set[str]:
    """The layer types OpenVINO runs the tagger's graph with, compiled with `tuning` as the CPU tuning."""
    from mossrl_hf import inference_backends
    from mossrl_hf.modeling import load_trained_classifier

    model, tokenizer = load_trained_classifier(tagger_dir)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    path = inference_backends.export_onnx(model.eval(), tokenizer, names, tmp_path / "model.onnx")
    monkeypatch.setattr(inference_backends, "OPENVINO_CPU_TUNING", tuning)
    compiled = inference_backends.compile_on_cpu(path, {"INFERENCE_PRECISION_HINT": "f32"})
    return {op.get_rt_info()["layerType"].astype(str) for op in compiled.get_runtime_model().get_ops()}


def test_attention_runs_on_the_plugins_standard_kernels(tagger_dir, tmp_path, monkeypatch):
    from mossrl_hf.inference_backends import OPENVINO_CPU_TUNING

    tuned = compiled_layer_types(tagger_dir, tmp_path, monkeypatch, OPENVINO_CPU_TUNING)
    assert "Subgraph" not in tuned and {"MatMul", "Softmax"} <= tuned
    assert "Subgraph" in compiled_layer_types(tagger_dir, tmp_path, monkeypatch, {})  # what it turns off


def test_a_plugin_without_the_tuning_switch_still_compiles(tagger_dir, tmp_path, monkeypatch, caplog):
    with caplog.at_level("INFO", logger="mossrl_hf.inference_backends"):
        types = compiled_layer_types(tagger_dir, tmp_path, monkeypatch, {"NO_SUCH_SWITCH": "1"})
    assert "FullyConnected" in types and "does not take {'NO_SUCH_SWITCH': '1'}" in caplog.text
