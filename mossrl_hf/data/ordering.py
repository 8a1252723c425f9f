"""Evaluation in batches of similar length.

Trainer evaluates in dataset order and pads each batch to its longest row; in input order, a batch of short
sentences often waits on one long one. Sorting the evaluation rows by length cuts that padding; the
permutation is kept so that results go back to input order.

Shortest first, not longest: in a distributed evaluation accelerate fills the last batch of a process with
repeats of the first rows (dropped again when gathering). When those are the shortest rows, the last batch
keeps the width it has in a one-process run, so the figures are the same to the last bit.
"""

import datasets
import numpy as np


def shortest_first(
    features: datasets.Dataset, enabled: bool = True, columns: tuple[str, ...] = ("input_ids",)
) -> tuple[datasets.Dataset, np.ndarray]:
    """`features` reordered by increasing length (the longest of `columns` per row; ties keep input
    order), and the order used: row `i` of the result is row `order[i]` of the input."""
    if not enabled:
        return features, np.arange(len(features))
    lengths = np.max([[len(ids) for ids in features[column]] for column in columns], axis=0)
    order = np.argsort(lengths, kind="stable")
    return features.select(order), order


def to_input_order(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Undo `shortest_first` on per-row results (`rows[i]` belongs to input row `order[i]`)."""
    restored = np.empty_like(rows)
    restored[order] = rows
    return restored
