import json
import subprocess
import sys
from pathlib import Path

import pytest

from mossrl_hf.batching import forward_shortest_first
from mossrl_hf.errors import ConfigError
from mossrl_hf.modeling import resolve_autocast
from mossrl_hf.predict import entities_of, load_tagger
from tests.conftest import FIXTURES, write
from tests.test_ner_recipe import conll_sentences, run_args


@pytest.fixture(scope="module")
def trained_dir(ner_recipe, tiny_bert_dir, tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("trained")
    ner_recipe(run_args(tiny_bert_dir, output, max_steps=4, learning_rate=5e-3))
    return str(output)


def test_entities_use_word_indices_with_exclusive_end():
    words = ["Ann", "Lee", "saw", "New", "York"]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]
    assert entities_of(words, tags) == [
        {"type": "PER", "start": 0, "end": 2, "text": "Ann Lee"},
        {"type": "LOC", "start": 3, "end": 5, "text": "New York"},
    ]


def test_tagger_keeps_order_and_every_word(trained_dir):
    tagger = load_tagger(trained_dir, max_length=32, stride=8)
    long_sentence = " ".join(["john smith visited london ."] * 80)
    inputs = ["john smith visited london .", ["mary", "left"], long_sentence, "paris"]
    records = tagger(inputs)
    assert [len(r["words"]) for r in records] == [5, 2, 400, 1]
    assert records[1]["words"] == ["mary", "left"]
    assert all(len(r["tags"]) == len(r["words"]) for r in records)
    assert tagger([]) == []
    # Same words, same tags, whatever else is in the batch.
    assert tagger([long_sentence])[0]["tags"] == records[2]["tags"]


def test_tagger_matches_the_recipe_predictions(trained_dir):
    """The API and the recipe's prediction step share features and re-assembly: same tags."""
    predicted = conll_sentences(Path(trained_dir) / "test_predictions.conll")
    words = [[line[0] for line in sentence] for sentence in predicted]
    records = load_tagger(trained_dir, max_length=32, stride=8)(words)
    assert [r["tags"] for r in records] == [[line[2] for line in sentence] for sentence in predicted]


@pytest.fixture(scope="module")
def bf16_trained_dir(ner_recipe, tiny_bert_dir, tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("trained-bf16")
    ner_recipe(run_args(tiny_bert_dir, output, max_steps=4, learning_rate=5e-3, bf16=True))
    return str(output)


def test_a_bf16_run_records_its_precision_and_the_tagger_replays_it(bf16_trained_dir, trained_dir):
    def recorded(model_dir):
        return json.loads((Path(model_dir) / "config.json").read_text()).get("eval_autocast_dtype")

    assert recorded(bf16_trained_dir) == "bfloat16" and recorded(trained_dir) is None
    assert load_tagger(trained_dir).autocast is None
    assert load_tagger(bf16_trained_dir, autocast="none").autocast is None
    tagger = load_tagger(bf16_trained_dir, max_length=32, stride=8)
    assert tagger.autocast == "bfloat16"
    predicted = conll_sentences(Path(bf16_trained_dir) / "test_predictions.conll")
    records = tagger([[line[0] for line in sentence] for sentence in predicted])
    assert [r["tags"] for r in records] == [[line[2] for line in sentence] for sentence in predicted]


def test_forward_runs_under_the_requested_autocast(trained_dir):
    tagger = load_tagger(trained_dir)
    rows = [[2, 5, 6, 3], [2, 7, 3]]
    for autocast, dtype in ((None, "torch.float32"), ("bfloat16", "torch.bfloat16")):
        seen = forward_shortest_first(
            tagger.model, rows, tagger.collate, 2, lambda logits: [str(logits.dtype)] * len(logits), autocast
        )
        assert seen == [dtype, dtype]
    with pytest.raises(ConfigError, match="autocast must be"):
        resolve_autocast(tagger.model, "int8")


def test_command_text_and_conll(trained_dir, tmp_path):
    text = write(tmp_path / "in.txt", "john smith visited london .\nmary left\n")
    output = tmp_path / "out.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mossrl_hf.predict",
            "--model",
            trained_dir,
            "--input",
            text,
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["words"] for r in records] == [["john", "smith", "visited", "london", "."], ["mary", "left"]]
    assert set(records[0]) == {"words", "tags", "entities"}

    subprocess.run(
        [
            sys.executable,
            "-m",
            "mossrl_hf.predict",
            "--model",
            trained_dir,
            "--input",
            str(FIXTURES / "ner_test.txt"),
            "--input_format",
            "conll",
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert len(output.read_text().splitlines()) == 2


def test_command_bad_input(trained_dir, tmp_path):
    text = write(tmp_path / "in.txt", "john\n\nmary\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mossrl_hf.predict",
            "--model",
            trained_dir,
            "--input",
            text,
            "--output",
            str(tmp_path / "out.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith(f"{text}:2: an empty line")
    assert not (tmp_path / "out.jsonl").exists()


def test_plain_text_read_as_conll_says_so(tmp_path):
    from mossrl_hf.errors import DataError
    from mossrl_hf.predict import read_sentences

    text = write(tmp_path / "in.txt", "John lives here\nMary left for good\n")
    with pytest.raises(DataError, match=r"in\.txt:2: .*use --input_format text"):
        read_sentences(text, "conll")


def test_tagger_stride_follows_its_window_unless_given(trained_dir):
    """A window alone is enough (the stride defaults to a quarter of it); a stride the caller gives that the
    window cannot hold is refused, not turned into windows that skip words."""
    tagger = load_tagger(trained_dir, max_length=16)
    assert tagger.stride == 4
    long_sentence = " ".join(["john smith visited london ."] * 20)
    assert len(tagger([long_sentence])[0]["tags"]) == 100
    with pytest.raises(ConfigError, match=r"--stride must be between 0 and half the window \(7 for"):
        load_tagger(trained_dir, max_length=16, stride=12)
