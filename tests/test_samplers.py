import random

import torch

from mossrl_hf.training.samplers import MEGABATCH_BATCHES, ShuffledLengthGroupedSampler, row_lengths


def batches_of(sampler, size):
    indices = list(sampler)
    return indices, [indices[i : i + size] for i in range(0, len(indices), size)]


def test_every_row_once_in_length_groups_served_in_random_order():
    rng = random.Random(0)
    lengths = [rng.randint(1, 120) for _ in range(3 * MEGABATCH_BATCHES * 8 + 5)]  # 3 megabatches + 5 rows
    indices, batches = batches_of(ShuffledLengthGroupedSampler(lengths, 8, seed=0), 8)
    assert sorted(indices) == list(range(len(lengths)))
    assert len(batches[-1]) == 5 and all(len(batch) == 8 for batch in batches[:-1])  # short batch last
    assert max(lengths[i] for i in batches[0]) == max(lengths)  # out of memory shows at once
    # Similar lengths inside a batch: far less padding than random batches.
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert sum(lengths) / padded > 0.9
    # Batches are not served as long-to-short sweeps (Trainer's LengthGroupedSampler order).
    maxima = [max(lengths[i] for i in batch) for batch in batches[1:-1]]
    descents = sum(a >= b for a, b in zip(maxima, maxima[1:], strict=False))
    assert descents < 0.75 * len(maxima)


def test_order_depends_on_seed_and_epoch_only():
    # A resumed run rebuilds the interrupted epoch's order in a fresh process (and each process of a
    # distributed run builds the same one), whatever else drew from torch's global generator before.
    lengths = list(range(1, 200))
    sampler = ShuffledLengthGroupedSampler(lengths, 4, seed=3)
    first = list(sampler)
    torch.manual_seed(0)
    torch.rand(10)
    assert list(sampler) == first == list(ShuffledLengthGroupedSampler(lengths, 4, seed=3))
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == sorted(first)
    restarted = ShuffledLengthGroupedSampler(lengths, 4, seed=3)
    restarted.set_epoch(1)
    assert list(restarted) == second
    assert list(ShuffledLengthGroupedSampler(lengths, 4, seed=4)) != first


def test_row_lengths_of_tokenized_and_pair_datasets():
    import datasets

    single = datasets.Dataset.from_dict({"input_ids": [[1, 2, 3], [4]]})
    pairs = datasets.Dataset.from_dict(
        {"chosen_input_ids": [[1, 2], [3]], "rejected_input_ids": [[1], [2, 3, 4]]}
    )
    assert row_lengths(single) == [3, 1] and row_lengths(pairs) == [2, 3]
    assert row_lengths(datasets.Dataset.from_dict({"text": ["a"]})) is None
