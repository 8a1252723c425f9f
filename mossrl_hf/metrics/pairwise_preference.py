"""Pairwise preference scores as an `evaluate` metric: how often the reward model ranks the preferred response
first, and the mean margin by which it does.

    import evaluate
    metric = evaluate.load("mossrl_hf/metrics/pairwise_preference.py")      # offline: a file
    metric.compute(predictions=[0.7, -0.2], references=[1, 1])   # margins r_chosen - r_rejected

`evaluate.load` copies this file into its cache and imports it alone, so it imports only installed packages,
never relative modules.
"""

import datasets
import evaluate
import numpy as np

_INPUTS = """
Args:
    predictions: reward margins, r(first response) - r(second response), one per pair.
    references: 1 when the first response is the preferred one (the recipes' `chosen`), 0 when the second is.
"""


class PairwisePreference(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="accuracy: share of pairs whose preferred response gets the higher reward (a tie "
            "counts as wrong); mean_margin: mean of r(preferred) - r(other).",
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references) -> dict:
        margins = np.asarray(predictions, dtype=np.float64)
        preferred_first = np.asarray(references, dtype=np.int64) == 1
        toward_preferred = np.where(preferred_first, margins, -margins)
        return {
            "accuracy": float((toward_preferred > 0).mean()),
            "mean_margin": float(toward_preferred.mean()),
        }
