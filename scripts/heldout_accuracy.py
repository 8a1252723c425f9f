"""Two groups of classifiers (one run per seed each) compared on the training rows their subset left out.

A test file of a few hundred sentences cannot separate arms less than about a point apart, and more seeds do
not help (every seed shares the same test sentences). When the models trained on `--max_train_samples N
--subset_seed S` of a larger training file, the rows that draw left out are many more labelled examples none
of the models saw: this scores every model on them (less any row whose text is also in the subset) and
compares the two groups with the harness's paired bootstrap over seeds and rows.

    python scripts/heldout_accuracy.py --train_file ../shared/data/sst2/train.tsv --text_column sentence \\
        --label_column label --max_train_samples 20000 --subset_seed 42 \\
        --ours runs/distilled-{42..47} --reference runs/alone-{42..47} --output heldout.json

Held-out rows come from the same source as the training rows (SST-2's phrases are parts of the same
treebank sentences), so their accuracy is not a test-set figure: it is a comparison of the two groups.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from transformers import AutoModelForSequenceClassification

from mossrl_hf.batching import TokenIdPadder, forward_shortest_first
from mossrl_hf.bench.seeds import PAIRED_SAMPLES, PAIRED_SEED
from mossrl_hf.data.classification_data import load_classification_data
from mossrl_hf.data_configs import ClassificationDataArguments
from mossrl_hf.errors import run_main
from mossrl_hf.metrics import bootstrap
from mossrl_hf.modeling import load_trained_classifier


def held_out_rows(args: argparse.Namespace):
    data = ClassificationDataArguments(
        train_file=args.train_file, text_column=args.text_column, label_column=args.label_column
    )
    everything = load_classification_data(data)["train"]
    drawn = set(everything.subset_indices(args.max_train_samples, args.subset_seed))
    seen = {everything.texts[i] for i in drawn}
    chosen = [i for i in range(len(everything)) if i not in drawn and everything.texts[i] not in seen]
    return everything.select(chosen), len(drawn)


def correct(model_dir: str, texts: list[str], labels: list[str], batch_size: int) -> np.ndarray:
    """Per row: does the model's most probable label equal the gold one."""
    model, tokenizer = load_trained_classifier(model_dir, AutoModelForSequenceClassification)
    encoded = tokenizer(texts, truncation=True, max_length=128)["input_ids"]
    best = forward_shortest_first(
        model.eval(),
        encoded,
        TokenIdPadder(tokenizer),
        batch_size,
        lambda logits: logits.argmax(-1).tolist(),
    )
    names = [model.config.id2label[index] for index in best]
    return np.array([name == label for name, label in zip(names, labels, strict=True)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train_file", required=True)
    parser.add_argument("--text_column", default="text")
    parser.add_argument("--label_column", default="label")
    parser.add_argument("--max_train_samples", type=int, required=True)
    parser.add_argument("--subset_seed", type=int, required=True)
    parser.add_argument("--ours", nargs="+", required=True, help="Model directories, one per seed.")
    parser.add_argument("--reference", nargs="+", required=True, help="The other arm, the same seeds.")
    parser.add_argument("--output", required=True, help="JSON file for the figures.")
    parser.add_argument("--batch_size", type=int, default=256)
    args = parser.parse_args(argv)
    rows, trained = held_out_rows(args)
    labels = [str(label) for label in rows.labels]
    print(f"{len(rows)} held-out rows ({trained} trained on)", file=sys.stderr)
    arms = {
        name: {folder: correct(folder, rows.texts, labels, args.batch_size) for folder in folders}
        for name, folders in (("ours", args.ours), ("reference", args.reference))
    }
    gold = np.zeros(len(rows), dtype=int)  # correctness as a two-class table: right = class 0 predicted as 0

    def counts(right: np.ndarray) -> np.ndarray:
        return bootstrap.classification_counts(gold, np.where(right, 0, 1), 2)

    statistic = bootstrap.classification_statistics(2)["accuracy"]
    paired = bootstrap.paired_difference(
        [counts(c) for c in arms["ours"].values()],
        [counts(c) for c in arms["reference"].values()],
        statistic,
        PAIRED_SAMPLES,
        PAIRED_SEED,
    )
    result = {
        "held_out_rows": len(rows),
        "trained_rows": trained,
        "accuracy": {name: {d: float(c.mean()) for d, c in runs.items()} for name, runs in arms.items()},
        "ours_minus_reference": paired,
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(paired), file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
