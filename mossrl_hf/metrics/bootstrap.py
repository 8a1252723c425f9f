"""Seeded bootstrap confidence intervals from per-example counts, and paired differences between two runs.

A test figure is a ratio of sums over examples (entity F1: 2 x true positives / (predicted + gold entities);
accuracy: correct / examples). Resampling examples with replacement is then a matrix product: multinomial
weights (resamples x examples) times the per-example counts (examples x columns) gives every resample's
sums at once, and the figures follow from the sums. Nothing is re-scored per resample (seqeval 1000 times
would take minutes on CoNLL-2003's test set; this takes a fraction of a second).
"""

from collections.abc import Callable, Sequence

import numpy as np
from seqeval import scheme as seqeval_schemes
from seqeval.metrics.sequence_labeling import get_entities

from ..data.tagging import BIOES, IOB1, IOB2

_STRICT_SCHEMES = {IOB1: seqeval_schemes.IOB1, IOB2: seqeval_schemes.IOB2, BIOES: seqeval_schemes.IOBES}
CHUNK = 100  # resamples per matrix product: bounds memory at CHUNK x examples weights
LEVEL = 0.95

# A statistic maps the summed counts of each resample (resamples x columns) to one figure per resample.
Statistic = Callable[[np.ndarray], np.ndarray]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (seqeval's, scikit-learn's zero_division=0)."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def resample_weights(examples: int, samples: int, seed: int) -> np.ndarray:
    """How often each example is drawn in each resample (samples x examples), from one seeded generator."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(examples, np.full(examples, 1.0 / examples), size=samples)


def bootstrap_values(counts: np.ndarray, statistics: dict[str, Statistic], weights: np.ndarray) -> dict:
    """Each statistic's value in each resample."""
    values: dict[str, list] = {name: [] for name in statistics}
    for start in range(0, len(weights), CHUNK):
        sums = weights[start : start + CHUNK] @ counts
        for name, statistic in statistics.items():
            values[name].append(statistic(sums))
    return {name: np.concatenate(parts) for name, parts in values.items()}


def percentile_interval(values: np.ndarray) -> list[float]:
    tail = (1.0 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def intervals(counts: np.ndarray, statistics: dict[str, Statistic], samples: int, seed: int) -> dict:
    """95% percentile intervals `{name: [low, high]}` of each statistic over `samples` resamples of the rows
    of `counts` (examples x columns). Empty when there is nothing to resample."""
    if samples <= 0 or len(counts) == 0:
        return {}
    weights = resample_weights(len(counts), samples, seed)
    values = bootstrap_values(np.asarray(counts, float), statistics, weights)
    return {name: percentile_interval(value) for name, value in values.items()}


def observed(counts: np.ndarray, statistics: dict[str, Statistic]) -> dict[str, float]:
    """Each statistic on the examples as they are (one resample of weight 1 each)."""
    sums = np.asarray(counts, float).sum(axis=0, keepdims=True)
    return {name: float(statistic(sums)[0]) for name, statistic in statistics.items()}


# NER: per sentence, entity counts in both modes and word counts.
NER_COLUMNS = ("tp", "predicted", "gold", "strict_tp", "strict_predicted", "strict_gold", "correct", "words")


def _f1(tp: int, predicted: int, gold: int) -> Statistic:
    return lambda sums: _ratio(2 * sums[:, tp], sums[:, predicted] + sums[:, gold])


NER_STATISTICS: dict[str, Statistic] = {
    "f1": _f1(0, 1, 2),
    "precision": lambda sums: _ratio(sums[:, 0], sums[:, 1]),
    "recall": lambda sums: _ratio(sums[:, 0], sums[:, 2]),
    "strict_f1": _f1(3, 4, 5),
    "accuracy": lambda sums: _ratio(sums[:, 6], sums[:, 7]),
}


def _strict_entities(tags: Sequence[Sequence[str]], scheme: str) -> list[set]:
    entities = seqeval_schemes.Entities([list(t) for t in tags], _STRICT_SCHEMES[scheme]).entities
    return [{entity.to_tuple()[1:] for entity in sentence} for sentence in entities]


def ner_sentence_counts(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str | None
) -> np.ndarray:
    """One row per sentence, NER_COLUMNS: the entities seqeval counts per sentence (they never cross a
    sentence, so the sums are seqeval's overall counts). Without a `scheme` the strict columns are 0."""
    rows = np.zeros((len(gold), len(NER_COLUMNS)), dtype=np.int64)
    if scheme is not None:
        strict_gold, strict_predicted = _strict_entities(gold, scheme), _strict_entities(predicted, scheme)
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        gold_entities, predicted_entities = (
            set(get_entities(list(gold_tags))),
            set(get_entities(list(predicted_tags))),
        )
        rows[index, :3] = len(gold_entities & predicted_entities), len(predicted_entities), len(gold_entities)
        if scheme is not None:
            strict = strict_gold[index], strict_predicted[index]
            rows[index, 3:6] = len(strict[0] & strict[1]), len(strict[1]), len(strict[0])
        rows[index, 6] = sum(g == p for g, p in zip(gold_tags, predicted_tags, strict=True))
        rows[index, 7] = len(gold_tags)
    return rows


# Classification: per example, correct, then per class (true positive, predicted, gold) indicators.
def classification_counts(gold: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    gold_hot, predicted_hot = np.eye(classes)[gold], np.eye(classes)[predicted]
    return np.hstack([(gold == predicted)[:, None], gold_hot * predicted_hot, predicted_hot, gold_hot])


def classification_statistics(classes: int) -> dict[str, Statistic]:
    tp, pred, gold = 1, 1 + classes, 1 + 2 * classes

    def macro_f1(sums):
        return np.mean([_f1(tp + c, pred + c, gold + c)(sums) for c in range(classes)], axis=0)

    statistics = {"accuracy": lambda sums: _ratio(sums[:, 0], sums[:, gold : gold + classes].sum(axis=1))}
    statistics["macro_f1"] = macro_f1
    if classes == 2:  # the positive (second) class, as the recipes report binary figures
        statistics["f1"] = _f1(tp + 1, pred + 1, gold + 1)
        statistics["precision"] = lambda sums: _ratio(sums[:, tp + 1], sums[:, pred + 1])
        statistics["recall"] = lambda sums: _ratio(sums[:, tp + 1], sums[:, gold + 1])
    else:
        statistics["f1"] = macro_f1
    return statistics


def roc_auc_interval(gold: np.ndarray, scores: np.ndarray, samples: int, seed: int) -> list[float] | None:
    """ROC AUC over weighted resamples, tied scores counting one half (as scikit-learn): per group of equal
    scores, the positives' weight times the negatives' weight below (plus half of those tied)."""
    if samples <= 0 or len(set(gold.tolist())) < 2:
        return None
    order = np.argsort(scores, kind="stable")
    sorted_scores, positive = scores[order], (gold[order] == 1).astype(float)
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    weights = resample_weights(len(gold), samples, seed)[:, order].astype(float)
    values = []
    for start in range(0, samples, CHUNK):
        chunk = weights[start : start + CHUNK]
        positives = np.add.reduceat(chunk * positive, starts, axis=1)
        negatives = np.add.reduceat(chunk * (1 - positive), starts, axis=1)
        below = np.cumsum(negatives, axis=1) - negatives
        pairs = positives.sum(axis=1) * negatives.sum(axis=1)
        values.append(_ratio((positives * (below + 0.5 * negatives)).sum(axis=1), pairs))
    return percentile_interval(np.concatenate(values))


# Pairwise preference: per pair, ranked right (1/0) and the margin toward the preferred response.
PAIRWISE_STATISTICS: dict[str, Statistic] = {
    "accuracy": lambda sums: _ratio(sums[:, 0], sums[:, 2]),
    "mean_margin": lambda sums: _ratio(sums[:, 1], sums[:, 2]),
}


def pairwise_counts(margins: np.ndarray) -> np.ndarray:
    margins = np.asarray(margins, float)
    return np.stack([(margins > 0).astype(float), margins, np.ones_like(margins)], axis=1)


def paired_difference(
    ours: list[np.ndarray], reference: list[np.ndarray], statistic: Statistic, samples: int, seed: int
) -> dict:
    """Mean over runs of `statistic` for `ours` minus the same for `reference`, every run scored on the same
    resamples of the same test examples (rows must be the same examples in the same order). Returns the
    observed difference, its 95% interval and the verdict: better / worse only when the interval
    excludes 0."""
    examples = {len(counts) for counts in ours + reference}
    if len(examples) != 1:
        raise ValueError(f"runs scored different numbers of test examples: {sorted(examples)}")
    weights = resample_weights(examples.pop(), samples, seed)

    def mean_statistic(runs: list[np.ndarray], chosen: np.ndarray) -> np.ndarray:
        return np.mean(
            [bootstrap_values(np.asarray(c, float), {"s": statistic}, chosen)["s"] for c in runs], 0
        )

    ones = np.ones((1, weights.shape[1]))
    difference = float(mean_statistic(ours, ones)[0] - mean_statistic(reference, ones)[0])
    low, high = percentile_interval(mean_statistic(ours, weights) - mean_statistic(reference, weights))
    verdict = "better" if low > 0 else "worse" if high < 0 else "no difference measured"
    return {
        "difference": difference,
        "ci95": [low, high],
        "samples": samples,
        "seed": seed,
        "verdict": verdict,
    }
