"""Batched forward passes for prediction: token ids padded into batches shortest first, results back in input
order, with as little Python around the model as possible.

At corpus scale the model is not the only cost: on 2 CPU cores the exported models tag CoNLL's test set in
about 2.5 s, and the Python around them (tokenizing, padding, decoding) was 0.5 s of it. Two things here
take a share of that away:

- `TokenIdPadder` builds a batch from lists of ids with numpy (what `DataCollatorWithPadding` returns for
  input_ids alone, without a dict per row and a tokenizer call per batch);
- `collector_paused` keeps Python's cyclic garbage collector out of a prediction call: the call allocates
  hundreds of thousands of short-lived lists, which start collections; a full one walks every object the
  loaded libraries hold (half a million for transformers, torch and OpenVINO: 0.3 s) and finds nothing to
  free, since the call makes no reference cycles.
"""

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from .errors import ConfigError
from .modeling import autocast_context


class TokenIdPadder:
    """Callable: lists of token ids -> `{"input_ids", "attention_mask"}` int64 tensors, padded with the
    tokenizer's pad token on its padding side."""

    def __init__(self, tokenizer):
        if tokenizer.pad_token_id is None:
            raise ConfigError(
                f"the tokenizer ({type(tokenizer).__name__}) has no padding token: set tokenizer.pad_token "
                "before saving the model, so that texts of different lengths can share a batch"
            )
        self.pad_id = tokenizer.pad_token_id
        self.pads_left = tokenizer.padding_side == "left"

    def __call__(self, rows: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        width = int(lengths.max())
        positions = np.arange(width)
        mask = positions >= width - lengths[:, None] if self.pads_left else positions < lengths[:, None]
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        # The mask's true cells, read row by row, are each row's tokens in order on either padding side.
        ids[mask] = np.fromiter((token for row in rows for token in row), dtype=np.int64, count=lengths.sum())
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask.astype(np.int64))}


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (as it was before, after it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def forward_shortest_first(
    model,
    input_ids: list[list[int]],
    collate: Callable[[list[list[int]]], dict[str, torch.Tensor]],
    batch_size: int,
    per_batch,
    autocast: str | None = None,
) -> list:
    """Run `model` over sequences batched shortest first (little padding), under `autocast` (a dtype name)
    if given; `collate` pads a batch's id lists (a `TokenIdPadder`), `per_batch(logits)` turns a batch's
    logits into one result per row. Results come back in input order."""
    order = sorted(range(len(input_ids)), key=lambda row: len(input_ids[row]))
    results: list = [None] * len(input_ids)
    device = model.device  # transformers models and the exported-model wrapper both have one
    with torch.inference_mode(), autocast_context(device.type, autocast):
        for begin in range(0, len(order), batch_size):
            rows = order[begin : begin + batch_size]
            batch = collate([input_ids[row] for row in rows])
            logits = model(**{key: value.to(device) for key, value in batch.items()}).logits
            for row, result in zip(rows, per_batch(logits), strict=True):
                results[row] = result
    return results
