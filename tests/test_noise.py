"""The noisy test split: seeded word perturbations that keep tags aligned, and the recipes' test_noisy_*."""

import json
import random
import runpy

import pytest

from mossrl_hf.data.noise import noisy_sentences, noisy_text, noisy_words, recase, typo
from mossrl_hf.data.sentences import SentenceRecords
from mossrl_hf.errors import ConfigError
from tests.conftest import REPO
from tests.test_classification import classify_args
from tests.test_ner_recipe import run_args

WORDS = ["Peter", "Blackburn", "visited", "the", "European", "Commission", "in", "Brussels", "."]
TAGS = ["B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O"]


def test_a_typo_changes_one_word_and_keeps_it_one_word():
    rng = random.Random(0)
    for word in ["Brussels", "ab", "visited", "Commission"] * 25:
        changed = typo(word, rng)
        assert changed != word and changed and not any(c.isspace() for c in changed)
        assert abs(len(changed) - len(word)) <= 1
    assert typo(".", rng) == "."  # one character: left alone


def test_recase_changes_the_case_only():
    rng = random.Random(0)
    for word in ("Brussels", "the", "EU"):
        changed = recase(word, rng)
        assert changed != word and changed.lower() == word.lower()


@pytest.mark.parametrize("kind", ["typos", "case"])
def test_typos_and_case_keep_every_word_and_tag(kind):
    words, tags = noisy_words(WORDS, TAGS, kind, 1.0, random.Random(1))
    assert len(words) == len(WORDS) and tags == TAGS
    assert sum(a != b for a, b in zip(words, WORDS, strict=True)) >= len(WORDS) - 2  # "." cannot change


def test_drop_word_drops_only_words_tagged_o_for_ner():
    words, tags = noisy_words(WORDS, TAGS, "drop_word", 1.0, random.Random(2))
    assert tags == [tag for tag in TAGS if tag != "O"]
    assert words == [word for word, tag in zip(WORDS, TAGS, strict=True) if tag != "O"]
    only_o, only_o_tags = noisy_words(["a", "b"], ["O", "O"], "drop_word", 1.0, random.Random(3))
    assert len(only_o) == 1 == len(only_o_tags)  # a sentence keeps at least one word


def test_noise_is_seeded_and_rate_bounded():
    records = SentenceRecords("test.txt", True, [WORDS] * 50, [TAGS] * 50, [1] * 50, [0] * 50)
    first = noisy_sentences(records, "typos", 0.2, seed=42)
    assert first.words == noisy_sentences(records, "typos", 0.2, seed=42).words
    assert first.words != noisy_sentences(records, "typos", 0.2, seed=43).words
    changed = sum(a != b for sentence in first.words for a, b in zip(sentence, WORDS, strict=True))
    assert 0.1 < changed / (50 * len(WORDS)) < 0.3
    assert all(len(w) == len(t) for w, t in zip(first.words, first.tags, strict=True))
    text = noisy_text("a great film , loved it", "drop_word", 0.5, random.Random(0))
    assert 1 <= len(text.split()) < 6


def test_ner_recipe_reports_noisy_test_beside_clean(ner_recipe, tiny_bert_dir, tmp_path):
    output = tmp_path / "ner"
    ner_recipe(run_args(tiny_bert_dir, output, test_noise="drop_word", test_noise_rate=0.5))
    results = json.loads((output / "all_results.json").read_text())
    assert {"test_f1", "test_noisy_f1", "test_noisy_accuracy"} <= set(results)
    assert (output / "test_noisy_report.txt").is_file() and (output / "test_noisy_results.json").is_file()


def test_classification_recipe_reports_noisy_test(tiny_bert_dir, tmp_path):
    main = runpy.run_path(str(REPO / "recipes" / "classify.py"), run_name="classify_recipe")["main"]
    output = tmp_path / "classify"
    main(classify_args(tiny_bert_dir, output, test_noise="typos", test_noise_rate="1.0"))
    results = json.loads((output / "all_results.json").read_text())
    assert "test_accuracy" in results and "test_noisy_accuracy" in results


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"test_noise": "shout"}, "--test_noise must be one of typos, case, drop_word, not 'shout'"),
        ({"test_noise": "typos", "test_noise_rate": "0"}, "--test_noise_rate must be in (0, 1], not 0.0"),
        ({"test_noise": "typos", "do_train": True}, "--test_noise typos scores the test split"),
    ],
)
def test_bad_noise_options_are_refused(ner_recipe, tiny_bert_dir, tmp_path, extra, message):
    with pytest.raises(ConfigError) as caught:
        ner_recipe(run_args(tiny_bert_dir, tmp_path / "out", **extra))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
