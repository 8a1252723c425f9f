"""Batched forward passes for prediction: token ids padded into batches shortest first, results back in input
order, with as little Python around the model as possible.

At corpus scale the model is not the only cost: on 2 CPU cores OpenVINO's bfloat16 model runs over CoNLL's
test set in about 1.9 s, and the Python around it (tokenizing, padding, decoding) took 0.5 s more (0.2 s
now, with `data.ner_features.WordPieces`). Two things here take a share of it away:

- `pad_token_ids` / `TokenIdPadder` build a batch from lists of ids with numpy (what
  `DataCollatorWithPadding` returns for input_ids alone, without a dict per row and a tokenizer call per
  batch);
- `loaded_objects_set_aside` keeps Python's garbage collector off the objects that loading left (half a
  million with torch, transformers and OpenVINO): a full collection walks every tracked object (0.3 s on
  these cores), and one fell due about every 10,000 sentences tagged (CoNLL's test set, three times),
  though all a run ever frees is what its own batches made.
"""

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from .errors import ConfigError
from .modeling import autocast_context


def pad_token_ids(rows: Sequence[Sequence[int]], pad_id: int, pads_left: bool = False) -> dict:
    """Lists of token ids -> `{"input_ids", "attention_mask"}` int64 tensors as wide as the longest row,
    padded with `pad_id` on the right (or the left)."""
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max())
    positions = np.arange(width)
    mask = positions >= width - lengths[:, None] if pads_left else positions < lengths[:, None]
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    # The mask's true cells, read row by row, are each row's tokens in order on either padding side.
    ids[mask] = np.fromiter((token for row in rows for token in row), dtype=np.int64, count=lengths.sum())
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask.astype(np.int64))}


class TokenIdPadder:
    """Callable: lists of token ids -> `pad_token_ids` with the tokenizer's pad token, on its padding side."""

    def __init__(self, tokenizer):
        if tokenizer.pad_token_id is None:
            raise ConfigError(
                f"the tokenizer ({type(tokenizer).__name__}) has no padding token: set tokenizer.pad_token "
                "before saving the model, so that texts of different lengths can share a batch"
            )
        self.pad_id = tokenizer.pad_token_id
        self.pads_left = tokenizer.padding_side == "left"

    def __call__(self, rows: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        return pad_token_ids(rows, self.pad_id, self.pads_left)


def set_aside_objects_alive_now() -> None:
    """Collect, then move every object still alive to the collector's permanent generation, which its
    collections skip. An object set aside is still freed when nothing refers to it; only a reference
    cycle among them would wait for `gc.unfreeze()`."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def loaded_objects_set_aside() -> Iterator[None]:
    """`set_aside_objects_alive_now` for the length of a block (a prediction run), undone after it."""
    set_aside_objects_alive_now()
    try:
        yield
    finally:
        gc.unfreeze()


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
