"""Classification scores as an `evaluate` metric: accuracy, macro-F1, per-class figures, the confusion matrix,
and for two labels the positive class's precision/recall/F1 and ROC AUC (from the scores, when given).

    import evaluate
    metric = evaluate.load("mossrl_hf/metrics/classification_scores.py")    # offline: a file
    metric.compute(predictions=[1, 0], references=[1, 1], labels=["neg", "pos"],
                   prediction_scores=[[0.2, 0.8], [0.7, 0.3]])

`evaluate.load` copies this file into its cache and imports it alone, so it imports only installed packages
(`mossrl_hf` included), never relative modules.
"""

import datasets
import evaluate
import numpy as np

from mossrl_hf.metrics.classification_metrics import classification_metrics

_INPUTS = """
Args:
    predictions: predicted label ids.
    references: gold label ids.
    labels: the label names, in id order (default: label_0, label_1, ... as many as ids seen).
    prediction_scores: optional, one row of class probabilities per example (for ROC AUC); without them the
        predicted ids stand in as one-hot scores.
"""


class ClassificationScores(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Accuracy, macro-F1, per-class precision/recall/F1; binary: F1 and ROC AUC.",
            citation="scikit-learn: https://scikit-learn.org",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, labels=None, prediction_scores=None) -> dict:
        predicted, gold = np.asarray(predictions, dtype=np.int64), np.asarray(references, dtype=np.int64)
        if labels is None:
            count = int(max(predicted.max(initial=0), gold.max(initial=0))) + 1
            labels = [f"label_{index}" for index in range(max(count, 2))]
        if prediction_scores is None:
            scores = np.eye(len(labels))[predicted]
        else:
            scores = np.asarray(prediction_scores, dtype=np.float64)
            if not np.array_equal(scores.argmax(axis=-1), predicted):
                raise ValueError("prediction_scores do not pick the given predictions (argmax differs)")
        return classification_metrics(gold, scores, list(labels))
