"""Entity-level NER metrics with seqeval: the conlleval-compatible default mode and the strict mode."""

from collections.abc import Sequence

from seqeval import scheme as seqeval_schemes
from seqeval.metrics import classification_report

from ..data.tagging import BIOES, IOB1, IOB2

_STRICT_SCHEMES = {IOB1: seqeval_schemes.IOB1, IOB2: seqeval_schemes.IOB2, BIOES: seqeval_schemes.IOBES}
_SUMMARY_ROWS = ("micro avg", "macro avg", "weighted avg")


def _report(gold, predicted, strict: bool, scheme: str, output_dict: bool):
    options = {"mode": "strict", "scheme": _STRICT_SCHEMES[scheme]} if strict else {}
    return classification_report(
        gold, predicted, digits=4, output_dict=output_dict, zero_division=0, **options
    )


def _flatten(report: dict, prefix: str) -> dict[str, float]:
    overall = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    metrics = {
        f"{prefix}precision": float(overall["precision"]),
        f"{prefix}recall": float(overall["recall"]),
        f"{prefix}f1": float(overall["f1-score"]),
    }
    for entity_type, row in sorted(report.items()):
        if entity_type in _SUMMARY_ROWS:
            continue
        metrics[f"{prefix}{entity_type}_precision"] = float(row["precision"])
        metrics[f"{prefix}{entity_type}_recall"] = float(row["recall"])
        metrics[f"{prefix}{entity_type}_f1"] = float(row["f1-score"])
        metrics[f"{prefix}{entity_type}_number"] = int(row["support"])
    return metrics


def ner_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str) -> dict:
    """Overall and per-type precision, recall and F1 in both modes (strict ones under `strict_`), plus
    word-level accuracy. Inputs are one tag list per sentence, of equal lengths."""
    gold, predicted = [list(tags) for tags in gold], [list(tags) for tags in predicted]
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted"
            )
    words = sum(len(tags) for tags in gold)
    correct = sum(
        g == p
        for gold_tags, pred_tags in zip(gold, predicted, strict=True)
        for g, p in zip(gold_tags, pred_tags, strict=True)
    )
    metrics = {"accuracy": correct / words if words else 0.0}
    metrics.update(_flatten(_report(gold, predicted, False, scheme, True), ""))
    metrics.update(_flatten(_report(gold, predicted, True, scheme, True), "strict_"))
    return metrics


def ner_report_text(gold, predicted, scheme: str) -> str:
    """The per-type tables a person reads, default mode then strict mode."""
    default = _report(gold, predicted, False, scheme, False)
    strict = _report(gold, predicted, True, scheme, False)
    return (
        "Entity-level scores, conlleval-compatible mode (seqeval default)\n\n"
        f"{default}\n\nEntity-level scores, strict mode ({scheme})\n\n{strict}\n"
    )


def conll_prediction_lines(words, gold, predicted) -> list[str]:
    """`word gold predicted` per word and a blank line after each sentence: input for conlleval."""
    lines = []
    for sentence_words, sentence_gold, sentence_predicted in zip(words, gold, predicted, strict=True):
        for word, gold_tag, predicted_tag in zip(
            sentence_words, sentence_gold, sentence_predicted, strict=True
        ):
            lines.append(f"{word} {gold_tag} {predicted_tag}\n")
        lines.append("\n")
    return lines
