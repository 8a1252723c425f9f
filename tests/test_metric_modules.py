"""The task metrics as `evaluate` modules (loaded by path offline, or imported) and bootstrap intervals."""

import evaluate
import numpy as np
import pytest

from mossrl_hf.errors import ConfigError
from mossrl_hf.metrics import bootstrap, modules
from mossrl_hf.metrics.classification_scores import ClassificationScores
from mossrl_hf.metrics.ner_metrics import ner_metrics
from mossrl_hf.metrics.ner_seqeval import NerSeqeval
from mossrl_hf.metrics.pairwise_preference import PairwisePreference
from tests.conftest import FIXTURES

# conlleval.pl's (2004-01-26) counts on tests/fixtures/conlleval_sample.txt (word, gold, predicted), by
# its chunk rules: an I- tag after O starts a chunk ("fans", "Peter"), a chunk is correct only when both start
# and end together with the same type. It prints:
#   processed 18 tokens with 7 phrases; found: 7 phrases; correct: 4.
#   accuracy:  72.22%; precision:  57.14%; recall:  57.14%; FB1:  57.14
#                 LOC: precision: 100.00%; recall:  66.67%; FB1:  80.00  2
#                MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0
#                 ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  2
#                 PER: precision:  66.67%; recall: 100.00%; FB1:  80.00  3
CONLLEVAL = {
    "accuracy": 0.7222,
    "precision": 0.5714,
    "recall": 0.5714,
    "f1": 0.5714,
    "LOC_precision": 1.0,
    "LOC_recall": 0.6667,
    "LOC_f1": 0.8,
    "MISC_f1": 0.0,
    "ORG_precision": 0.0,
    "ORG_f1": 0.0,
    "PER_precision": 0.6667,
    "PER_recall": 1.0,
    "PER_f1": 0.8,
}


def read_prediction_file(path):
    gold, predicted, sentence_gold, sentence_predicted = [], [], [], []
    for line in (path.read_text().splitlines()) + [""]:
        if not line.strip():
            if sentence_gold:
                gold.append(sentence_gold)
                predicted.append(sentence_predicted)
            sentence_gold, sentence_predicted = [], []
            continue
        _, gold_tag, predicted_tag = line.split()
        sentence_gold.append(gold_tag)
        sentence_predicted.append(predicted_tag)
    return gold, predicted


def test_ner_module_by_path_equals_import_equals_conlleval():
    gold, predicted = read_prediction_file(FIXTURES / "conlleval_sample.txt")
    by_path = evaluate.load(str(modules.module_file("ner")), keep_in_memory=True)
    assert type(by_path).__module__ != NerSeqeval.__module__  # a copy in evaluate's cache, imported alone
    loaded = by_path.compute(predictions=predicted, references=gold, scheme="IOB2")
    imported = NerSeqeval(keep_in_memory=True).compute(predictions=predicted, references=gold, scheme="IOB2")
    assert loaded == imported == ner_metrics(gold, predicted, "IOB2")
    for key, value in CONLLEVAL.items():  # conlleval prints two decimals of a percentage
        assert loaded[key] == pytest.approx(value, abs=5e-5), key
    assert "strict_f1" in loaded and "strict_PER_f1" in loaded


def test_classification_and_pairwise_modules_by_path_equal_import():
    scores = [[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]]
    inputs = {"predictions": [1, 0, 1, 0], "references": [1, 1, 0, 0], "labels": ["neg", "pos"]}
    loaded = evaluate.load(str(modules.module_file("classification")), keep_in_memory=True)
    by_path = loaded.compute(**inputs, prediction_scores=scores)
    imported = ClassificationScores(keep_in_memory=True).compute(**inputs, prediction_scores=scores)
    assert by_path == imported
    assert by_path["accuracy"] == 0.5 and by_path["macro_f1"] == 0.5 and by_path["roc_auc"] == 0.75
    pairs = {"predictions": [0.5, -1.0, 2.0], "references": [1, 1, 0]}
    pairwise = evaluate.load(str(modules.module_file("reward_model")), keep_in_memory=True).compute(**pairs)
    assert pairwise == PairwisePreference(keep_in_memory=True).compute(**pairs)
    assert pairwise["accuracy"] == pytest.approx(1 / 3)
    assert pairwise["mean_margin"] == pytest.approx((0.5 - 1.0 - 2.0) / 3)


def test_a_metric_that_cannot_be_found_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^--metric .*no_such_metric.*no evaluate module found") as error:
        modules.load_metric(str(tmp_path / "no_such_metric.py"), "ner")
    assert "\n" not in str(error.value)


def test_user_module_results_are_flattened():
    nested = {"overall_f1": np.float64(0.5), "PER": {"f1": 1.0, "number": 2}}
    assert modules.flatten(nested) == {"f1": 0.5, "PER_f1": 1.0, "PER_number": 2}


def test_ner_counts_sum_to_seqeval_and_all_correct_gives_one_one():
    gold, predicted = read_prediction_file(FIXTURES / "conlleval_sample.txt")
    counts = bootstrap.ner_sentence_counts(gold, predicted, "IOB2")
    expected = ner_metrics(gold, predicted, "IOB2")
    for name, value in bootstrap.observed(counts, bootstrap.NER_STATISTICS).items():
        assert value == pytest.approx(expected[name]), name
    perfect = bootstrap.ner_sentence_counts(gold, gold, "IOB2")
    for interval in bootstrap.intervals(perfect, bootstrap.NER_STATISTICS, 200, 1).values():
        assert interval == [1.0, 1.0]


def test_same_seed_same_interval_other_seed_other_interval():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 300)
    predicted = np.where(rng.random(300) < 0.8, gold, 1 - gold)
    counts = bootstrap.classification_counts(gold, predicted, 2)
    statistics = bootstrap.classification_statistics(2)
    first = bootstrap.intervals(counts, statistics, 500, 7)
    assert first == bootstrap.intervals(counts, statistics, 500, 7)
    assert first != bootstrap.intervals(counts, statistics, 500, 8)
    accuracy = float((gold == predicted).mean())
    low, high = first["accuracy"]
    assert low < accuracy < high and high - low < 0.15


def test_weighted_roc_auc_matches_scikit_learn_on_each_resample():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 120)
    scores = np.round(rng.random(120) + 0.4 * gold, 1)  # rounded: many ties
    low, high = bootstrap.roc_auc_interval(gold, scores, 300, 5)
    weights = bootstrap.resample_weights(120, 300, 5)
    values = [roc_auc_score(gold, scores, sample_weight=row) for row in weights]
    assert [low, high] == pytest.approx(bootstrap.percentile_interval(np.array(values)))


def test_paired_difference_says_better_only_when_the_interval_excludes_zero():
    rng = np.random.default_rng(1)
    margins_a, margins_b = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    counts_a, counts_b = bootstrap.pairwise_counts(margins_a), bootstrap.pairwise_counts(margins_b)
    accuracy = bootstrap.PAIRWISE_STATISTICS["accuracy"]
    better = bootstrap.paired_difference([counts_a], [counts_b], accuracy, 300, 0)
    assert better["verdict"] == "better" and better["ci95"][0] > 0
    assert bootstrap.paired_difference([counts_b], [counts_a], accuracy, 300, 0)["verdict"] == "worse"
    same = bootstrap.paired_difference([counts_a], [counts_a], accuracy, 300, 0)
    assert same["verdict"] == "no difference measured" and same["difference"] == 0.0
