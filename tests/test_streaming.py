"""Prediction at scale: chunked streaming, --resume, --num_workers, and the int8 / ONNX backends
(OpenVINO: tests/test_openvino.py)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mossrl_hf import predict, reward
from mossrl_hf.errors import ConfigError, DataError
from mossrl_hf.streaming import partial_path
from tests.conftest import write
from tests.test_ner_recipe import run_args

SENTENCES = [
    "john smith visited london .",
    "mary left",
    "the eu rejects german call to boycott british lamb",
    "peter",
    "new york is big",
    "a b c d e f g",
    "smith and mary met in paris on monday",
]


def tag(model: str, input_path: str, output, *extra: str) -> list[dict]:
    predict.main(["--model", model, "--input", input_path, "--output", str(output), "--no_progress", *extra])
    return [json.loads(line) for line in open(output, encoding="utf-8")]


def test_chunked_output_equals_the_tagger_in_input_order(tagger_dir, tmp_path):
    text = write(tmp_path / "in.txt", "\n".join(SENTENCES) + "\n")
    records = tag(tagger_dir, text, tmp_path / "out.jsonl", "--chunk_size", "2")
    assert records == predict.load_tagger(tagger_dir)(SENTENCES)
    assert not partial_path(tmp_path / "out.jsonl").exists()


def test_a_bad_line_leaves_a_partial_file_that_resume_completes(tagger_dir, tmp_path):
    output = tmp_path / "out.jsonl"
    lines = SENTENCES[:4] + [""] + SENTENCES[4:]
    text = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"in\.txt:5: an empty line"):
        tag(tagger_dir, text, output, "--chunk_size", "2")
    assert not output.exists()  # never a file that looks complete
    assert len(partial_path(output).read_text().splitlines()) == 4

    # The line fixed, a record cut short by a kill: --resume writes each sentence exactly once.
    write(tmp_path / "in.txt", "\n".join(SENTENCES) + "\n")
    with open(partial_path(output), "a", encoding="utf-8") as stream:
        stream.write('{"words": ["new", "yo')
    records = tag(tagger_dir, text, output, "--chunk_size", "2", "--resume")
    assert [record["words"] for record in records] == [line.split() for line in SENTENCES]
    assert records == tag(tagger_dir, text, tmp_path / "fresh.jsonl")
    # Resuming a complete output does nothing and keeps it.
    assert tag(tagger_dir, text, output, "--resume") == records


def test_resume_refuses_the_output_of_another_input(tagger_dir, tmp_path):
    output = tmp_path / "out.jsonl"
    text = write(tmp_path / "in.txt", "\n".join(SENTENCES) + "\n")
    other = write(tmp_path / "other.txt", "\n".join(reversed(SENTENCES)) + "\n")
    tag(tagger_dir, other, output)
    output.rename(partial_path(output))
    before = partial_path(output).read_bytes()
    with pytest.raises(DataError, match=rf"out\.jsonl\.partial:1: does not match the input at {text}:1"):
        tag(tagger_dir, text, output, "--resume")
    assert partial_path(output).read_bytes() == before and not output.exists()


def test_workers_write_the_same_records_in_order(tagger_dir, tmp_path):
    text = write(tmp_path / "in.txt", "\n".join(SENTENCES * 3) + "\n")
    one = tag(tagger_dir, text, tmp_path / "one.jsonl", "--chunk_size", "2")
    two = tag(tagger_dir, text, tmp_path / "two.jsonl", "--chunk_size", "2", "--num_workers", "2")
    assert two == one


def test_workers_with_less_input_than_a_chunk_exit_cleanly_and_quietly(tagger_dir, tmp_path):
    # One worker gets nothing to do and may still be starting when the last record is written.
    text = write(tmp_path / "in.txt", "\n".join(SENTENCES[:2]) + "\n")
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "mossrl_hf.predict", "--model", tagger_dir, "--input", text]
    command += ["--output", str(output), "--num_workers", "2", "--no_progress"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len(output.read_text().splitlines()) == 2
    assert "leaked" not in completed.stderr and "resource_tracker" not in completed.stderr
    assert "Loading weights" not in completed.stderr  # --no_progress hides transformers' bars too


@pytest.mark.parametrize(("backend", "quantize"), [("torch", "int8"), ("onnx", "none"), ("onnx", "int8")])
def test_backends_tag_every_word(tagger_dir, backend, quantize):
    exact = predict.load_tagger(tagger_dir)
    fast = predict.load_tagger(tagger_dir, backend=backend, quantize=quantize)
    assert fast.autocast is None
    records = fast(SENTENCES)
    assert [record["words"] for record in records] == [line.split() for line in SENTENCES]
    assert all(len(r["tags"]) == len(r["words"]) for r in records)
    # The same windows in, label log-probabilities close to the float model's.
    assert largest_difference(fast, exact) < (1e-4 if quantize == "none" else 0.2)


def largest_difference(tagger, reference) -> float:
    """Largest gap between two taggers' label log-probabilities over the windows of SENTENCES (the
    reference's window length and stride)."""
    from mossrl_hf.data.ner_features import ner_feature_columns
    from mossrl_hf.data.sentences import SentenceRecords

    sentences = SentenceRecords("<input>")
    for line in SENTENCES:
        sentences.add(line.split(), ["O"] * len(line.split()), None)
    features = ner_feature_columns(sentences, reference.word_pieces, reference.max_length, reference.stride)
    pairs = zip(tagger.predict_scores(features), reference.predict_scores(features), strict=True)
    return max(float(np.abs(ours - theirs).max()) for ours, theirs in pairs)


def test_onnx_fuses_the_attention_and_int8_keeps_the_classifier_head_float(tagger_dir, tmp_path):
    from collections import Counter

    import onnx
    import torch

    from mossrl_hf import inference_backends as backends
    from mossrl_hf.modeling import load_trained_classifier

    model, tokenizer = load_trained_classifier(tagger_dir)
    head_weight = model.classifier.weight.detach().clone()
    names = [name for name in tokenizer.model_input_names if name != "position_ids"]
    exported = backends.export_onnx(model, tokenizer, names, tmp_path / "model.onnx")
    assert not model.training  # the export left the model as it found it
    fused = backends.fuse_transformer_graph(exported, model.config, tmp_path / "fused.onnx")
    layers = model.config.num_hidden_layers
    assert Counter(node.op_type for node in onnx.load(str(fused)).graph.node)["Attention"] == layers
    graph = onnx.load(str(backends.quantize_onnx(fused, tmp_path / "int8.onnx"))).graph
    operators = Counter(node.op_type for node in graph.node)
    assert operators["QAttention"] == layers
    assert operators["DynamicQuantizeMatMul"] + operators["MatMulInteger"] > 0
    (head,) = [node for node in graph.node if node.name in backends.classifier_head(graph)]
    assert head.op_type == "MatMul"  # not quantized: its weight is the float32 classifier, as trained
    weights = {tensor.name: tensor for tensor in graph.initializer}
    stored = onnx.numpy_helper.to_array(weights[head.input[1]])
    assert stored.dtype == np.float32 and torch.equal(torch.from_numpy(stored.T.copy()), head_weight)


def test_a_precision_flag_that_clashes_with_the_backend_is_refused(tagger_dir, tmp_path):
    text = write(tmp_path / "in.txt", "mary left\n")
    refusal = "--autocast bfloat16 goes with the float torch or openvino backend only"
    with pytest.raises(ConfigError, match=refusal):
        tag(tagger_dir, text, tmp_path / "out.jsonl", "--quantize", "int8", "--autocast", "bfloat16")
    assert not (tmp_path / "out.jsonl").exists() and not partial_path(tmp_path / "out.jsonl").exists()


def test_reward_command_streams_and_resumes(scorer_dir, tmp_path):
    texts = [f"text number {i} is {'great' if i % 2 else 'dull'}" for i in range(9)]
    source = write(tmp_path / "in.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in texts))
    output = tmp_path / "scores.jsonl"
    arguments = ["--model", scorer_dir, "--input", source, "--output", str(output), "--no_progress"]
    reward.main([*arguments, "--chunk_size", "4"])
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["text"] for r in records] == texts
    expected = reward.load_reward_function(scorer_dir)(texts)
    assert [r["score"] for r in records] == pytest.approx(expected, abs=1e-6)

    output.rename(partial_path(output))
    kept = partial_path(output).read_text().splitlines()[:5]
    partial_path(output).write_text("\n".join(kept) + "\n")
    reward.main([*arguments, "--chunk_size", "4", "--resume"])
    assert [json.loads(line)["text"] for line in output.read_text().splitlines()] == texts

    int8 = tmp_path / "int8.jsonl"
    reward.main(
        [*arguments[:4], "--output", str(int8), "--no_progress", "--backend", "onnx", "--quantize", "int8"]
    )
    scores = [json.loads(line)["score"] for line in int8.read_text().splitlines()]
    assert scores == pytest.approx(expected, abs=0.1)


def test_reward_command_names_an_unreadable_json_line(scorer_dir, tmp_path):
    source = write(tmp_path / "in.jsonl", '{"text": "fine"}\n{"text": "ok"\n{"text": "good"}\n')
    completed = subprocess.run(
        [sys.executable, "-m", "mossrl_hf.reward", "--model", scorer_dir, "--input", source]
        + ["--output", str(tmp_path / "out.jsonl"), "--no_progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith(f"{source}:2: malformed JSON")
    assert not (tmp_path / "out.jsonl").exists()


def test_speed_bench_reports_a_fast_backend_beside_the_float_tagger(tagger_dir, tmp_path):
    from mossrl_hf.bench import predict_speed
    from tests.conftest import FIXTURES

    output = tmp_path / "speed.json"
    test_file = str(FIXTURES / "ner_test.txt")
    common = ["--model", tagger_dir, "--test_file", test_file, "--output", str(output)]
    predict_speed.main([*common, "--backend", "onnx", "--quantize", "int8"])
    result = json.loads(output.read_text())
    assert (result["backend"], result["quantize"]) == ("onnx", "int8")
    assert result["float_tagger_seconds"] > 0 and result["speedup_vs_float_tagger"] > 0
    assert result["f1_change_vs_float_tagger"] == pytest.approx(
        result["tagger_f1"] - result["float_tagger_f1"]
    )

    predict_speed.main([*common, "--stream_sizes", "30,90", "--batch_size", "8"])
    result = json.loads(output.read_text())
    assert [run["sentences"] for run in result["stream_runs"]] == [30, 90]
    assert result["all_outputs_complete"] and result["rss_ratio_largest_to_smallest"] > 0


def test_ray_example_tags_a_corpus_on_a_local_cluster(tagger_dir, tmp_path):
    pytest.importorskip("ray.data")
    from tests.conftest import REPO

    corpus = write(tmp_path / "corpus.txt", "\n".join(SENTENCES * 4) + "\n")
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "predict_with_ray.py"), "--model", tagger_dir]
        + ["--input", corpus, "--output", str(tmp_path / "tagged"), "--workers", "1", "--batch_size", "5"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    records = [
        json.loads(line)
        for path in sorted((tmp_path / "tagged").glob("*.json*"))
        for line in path.read_text().splitlines()
    ]
    expected = predict.load_tagger(tagger_dir)(SENTENCES * 4)
    assert [r["words"] for r in records] == [r["words"] for r in expected]
    assert [r["tags"] for r in records] == [r["tags"] for r in expected]


def test_an_adapter_is_merged_before_export(ner_recipe, tiny_bert_dir, tmp_path):
    output = tmp_path / "lora"
    ner_recipe(run_args(tiny_bert_dir, output, peft_method="lora", lora_r=4, max_steps=3, learning_rate=5e-2))
    exact = predict.load_tagger(str(output))(SENTENCES)
    exported = predict.load_tagger(str(output), backend="onnx")(SENTENCES)
    assert [r["tags"] for r in exported] == [r["tags"] for r in exact]


def test_the_report_shows_streaming_runs_beside_the_speed_table():
    from mossrl_hf.bench import report

    stream = {"stream_runs": [], "rss_ratio_largest_to_smallest": 1.0, "all_outputs_complete": True}
    for size, rss in ((10, 100 << 20), (100, 101 << 20)):
        run = {"sentences": size, "seconds": size / 5, "sentences_per_second": 5.0, "peak_rss_bytes": rss}
        stream["stream_runs"].append({**run, "output_complete": True})
    record = {"name": "stream", "model_from": "ner", "predict_speed": stream, "target_results": []}
    text = "\n".join(report._predict_speed_table([record]))
    assert "| stream | 10 | 2 s | 5 | 100 MiB | yes |" in text
    assert "| stream | 100 | 20 s | 5 | 101 MiB | yes |" in text
