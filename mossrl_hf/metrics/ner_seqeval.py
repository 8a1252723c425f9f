"""NER entity scores as an `evaluate` metric: seqeval's conlleval-compatible default mode and its strict mode,
overall and per entity type, plus word accuracy.

    import evaluate
    metric = evaluate.load("mossrl_hf/metrics/ner_seqeval.py")     # offline: a file, not a Hub id
    metric.compute(predictions=[["B-PER", "O"]], references=[["B-PER", "O"]], scheme="IOB2")

`evaluate.load` copies this file into its cache and imports it alone, so it imports only installed packages
(`mossrl_hf` included), never relative modules. The class imported (`NerSeqeval()`) gives the same figures.
"""

import datasets
import evaluate

from mossrl_hf.metrics.ner_metrics import ner_metrics

_DESCRIPTION = (
    "Entity-level precision, recall and F1 with seqeval: keys without prefix in the conlleval-compatible "
    "default mode (equal to conlleval.pl), `strict_` keys in seqeval's strict mode for the given tag scheme; "
    "`<TYPE>_precision/_recall/_f1/_number` per entity type; `accuracy` is word-level."
)
_INPUTS = """
Args:
    predictions: one list of predicted tags per sentence.
    references: one list of gold tags per sentence, of the same lengths.
    scheme: the tag scheme for the strict mode: IOB1, IOB2 (default) or BIOES.
"""


class NerSeqeval(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="seqeval: https://github.com/chakki-works/seqeval",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references, scheme: str = "IOB2") -> dict:
        return ner_metrics(references, predictions, scheme)
