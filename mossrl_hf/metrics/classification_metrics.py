"""Classification metrics with scikit-learn: accuracy, precision/recall/F1 (binary or macro and per class),
macro-F1, ROC-AUC for two classes, the confusion matrix."""

import numpy as np
from sklearn import metrics as sk


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def classification_metrics(gold: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> dict:
    """`gold`: label ids; `probabilities`: one row per example. Two labels: binary scores for labels[1]."""
    predicted = probabilities.argmax(axis=-1)
    ids = list(range(len(labels)))
    result = {"accuracy": float(sk.accuracy_score(gold, predicted))}
    if len(labels) == 2:
        precision, recall, f1, _ = sk.precision_recall_fscore_support(
            gold, predicted, average="binary", pos_label=1, zero_division=0
        )
        result.update(precision=float(precision), recall=float(recall), f1=float(f1))
        if len(set(gold.tolist())) == 2:  # ROC-AUC needs both classes present
            result["roc_auc"] = float(sk.roc_auc_score(gold, probabilities[:, 1]))
    else:
        precision, recall, f1, _ = sk.precision_recall_fscore_support(
            gold, predicted, labels=ids, average="macro", zero_division=0
        )
        result.update(precision=float(precision), recall=float(recall), f1=float(f1))
    per_class = sk.precision_recall_fscore_support(gold, predicted, labels=ids, zero_division=0)
    result["macro_f1"] = float(per_class[2].mean())
    for index, label in enumerate(labels):
        result[f"{label}_precision"] = float(per_class[0][index])
        result[f"{label}_recall"] = float(per_class[1][index])
        result[f"{label}_f1"] = float(per_class[2][index])
        result[f"{label}_number"] = int(per_class[3][index])
    result["confusion_matrix"] = sk.confusion_matrix(gold, predicted, labels=ids).tolist()
    return result


def classification_report_text(gold: np.ndarray, predicted: np.ndarray, labels: list[str]) -> str:
    ids = list(range(len(labels)))
    report = sk.classification_report(
        gold, predicted, labels=ids, target_names=labels, digits=4, zero_division=0
    )
    matrix = sk.confusion_matrix(gold, predicted, labels=ids)
    width = max(len(label) for label in labels) + 2
    rows = ["".ljust(width) + "".join(label.rjust(width) for label in labels)]
    rows += [
        label.ljust(width) + "".join(str(n).rjust(width) for n in row)
        for label, row in zip(labels, matrix, strict=True)
    ]
    return f"{report}\nConfusion matrix (rows: gold, columns: predicted)\n\n" + "\n".join(rows) + "\n"
