"""scripts/heldout_accuracy.py: two arms of classifiers scored on the training rows their subset left out."""

import json
import runpy

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from mossrl_hf.data.classification_data import load_classification_data
from mossrl_hf.data_configs import ClassificationDataArguments
from tests.conftest import REPO, write

WORDS = ["great", "dull", "moving", "awful", "fun", "boring"]


def test_every_row_the_subset_left_out_is_scored(scorer_dir, tmp_path):
    lines = [f"{WORDS[i % 6]} film number {i},{'positive' if i % 2 == 0 else 'negative'}" for i in range(24)]
    lines += ["great film number 0,positive", "dull film number 1,negative"]  # the same texts again
    train = write(tmp_path / "train.csv", "text,label\n" + "\n".join(lines) + "\n")
    output = tmp_path / "heldout.json"
    main = runpy.run_path(str(REPO / "scripts" / "heldout_accuracy.py"), run_name="heldout")["main"]
    flags = ["--train_file", train, "--max_train_samples", "10", "--subset_seed", "4", "--batch_size", "4"]
    main([*flags, "--ours", scorer_dir, "--reference", scorer_dir, "--output", str(output)])
    result = json.loads(output.read_text())

    # What the recipe trains on with the same flags; every other row with a text outside it is held out.
    everything = load_classification_data(ClassificationDataArguments(train_file=train))["train"]
    trained = set(everything.subset(10, 4).texts)
    rows = zip(everything.texts, everything.labels, strict=True)
    held = [(text, label) for text, label in rows if text not in trained]
    assert result["trained_rows"] == 10 and result["held_out_rows"] == len(held)
    # Seed 4 draws row 0 but not its repeat (row 24): 16 rows not drawn, that repeat left out.
    assert len(held) == 15 and "great film number 0" not in dict(held)

    # Each held-out row classified on its own, unbatched, against the script's batched accuracy.
    model = AutoModelForSequenceClassification.from_pretrained(scorer_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(scorer_dir)
    with torch.inference_mode():
        right = [
            model.config.id2label[int(model(**tokenizer(text, return_tensors="pt")).logits.argmax())] == label
            for text, label in held
        ]
    assert result["accuracy"]["ours"][scorer_dir] == pytest.approx(np.mean(right))
    same = result["ours_minus_reference"]
    assert same["difference"] == 0 and same["verdict"] == "no difference measured"


def test_subset_indices_are_the_rows_subset_keeps():
    from mossrl_hf.data.classification_data import TextRecords

    records = TextRecords("<test>", [f"t{i}" for i in range(50)], None, ["a"] * 50, list(range(2, 52)))
    for count, seed in ((10, 1), (10, None), (50, 7), (None, 3)):
        kept = records.subset_indices(count, seed)
        assert kept == sorted(kept)
        assert records.select(kept).texts == records.subset(count, seed).texts
