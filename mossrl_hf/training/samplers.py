"""Length-grouped training batches in random order.

transformers' `LengthGroupedSampler` sorts each mega-batch (50 batches) longest first and serves its batches
in that order, so every stretch of training sweeps from long sentences to short ones. Here the batches are
formed the same way (similar lengths, so little padding), then served in random order: the padding saving
stays, the long-to-short sweep goes. The batch with the longest row still comes first, so that running out of
memory shows at once.

The order is a function of the seed and the epoch only, like accelerate's seedable sampler for Trainer's
random batches: a run resumed from a checkpoint in the middle of an epoch rebuilds that epoch's order, and
Trainer skips the batches already trained on. An order drawn from torch's global generator would depend on
what else drew from it before the epoch began, which differs between a fresh process and the run it resumes.
"""

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

MEGABATCH_BATCHES = 50


class ShuffledLengthGroupedSampler(Sampler[int]):
    """Indices whose consecutive `batch_size` slices hold rows of similar length, slices in random order.

    Epoch `e` draws its batches from a generator seeded with `seed + e` (`set_epoch`: Trainer's data loader
    calls it before each epoch, and `resuming.SamplerEpoch` where the loader's call does not reach it): the
    same seed gives the same batches in every process and after a restart, and each epoch draws new ones.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def batches(self) -> list[list[int]]:
        lengths, size = self.lengths, self.batch_size
        # A local generator, not a `generator` attribute: accelerate takes such an attribute over in some
        # set-ups (seeds it from the global generator and broadcasts it), which would undo the point.
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(lengths), generator=generator).tolist()
        megabatch = MEGABATCH_BATCHES * size
        grouped = []
        for start in range(0, len(order), megabatch):
            rows = sorted(order[start : start + megabatch], key=lengths.__getitem__, reverse=True)
            grouped += [rows[i : i + size] for i in range(0, len(rows), size)]
        # Only the very last batch can be short; it stays last, or every later slice would straddle two
        # groups (the data loader cuts the index stream into equal slices).
        last = grouped.pop() if len(grouped[-1]) < size else None
        grouped = [grouped[i] for i in torch.randperm(len(grouped), generator=generator).tolist()]
        if grouped:
            longest = max(range(len(grouped)), key=lambda b: max(lengths[i] for i in grouped[b]))
            grouped.insert(0, grouped.pop(longest))
        return grouped + ([last] if last else [])

    def __iter__(self) -> Iterator[int]:
        if not self.lengths:
            return iter([])
        return iter([index for batch in self.batches() for index in batch])


def row_lengths(dataset) -> list[int] | None:
    """Token count of each row of a tokenized dataset (pairs: the longer side), or None if unknown."""
    columns = getattr(dataset, "column_names", None) or []
    if "input_ids" in columns:
        return [len(ids) for ids in dataset["input_ids"]]
    if {"chosen_input_ids", "rejected_input_ids"} <= set(columns):
        pairs = zip(dataset["chosen_input_ids"], dataset["rejected_input_ids"], strict=True)
        return [max(len(chosen), len(rejected)) for chosen, rejected in pairs]
    return None
