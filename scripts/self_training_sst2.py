"""Self-training on SST-2 with few labels, measured: 500 labelled sentences and 20,000 unlabeled ones; the
labelled-only model against 1-3 rounds of self-training, and labelled-only trained for as many steps as
the 3-round run (same budget).

    python scripts/self_training_sst2.py --output runs/self-training-sst2     # about 20 minutes, 2 cores

The split (seeded, 42): from SST-2's training set, 500 labelled sentences, 20,000 others without their
labels, 1,000 others as the validation set that scores each round; SST-2's dev set is the test set.
Rounds: 5 epochs on the labelled data, then 1 epoch per round on labelled + pseudo-labelled texts whose
predicted class has probability >= 0.9. Batch 32, learning rate 5e-5, seed 42, float32.
"""

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = [
    "--text_column", "sentence", "--label_column", "label", "--per_device_train_batch_size", "32",
    "--learning_rate", "5e-5", "--seed", "42", "--bf16", "false", "--save_strategy", "no",
    "--eval_strategy", "no", "--logging_steps", "50", "--disable_tqdm", "true", "--report_to", "none",
]  # fmt: skip


def prepare(sst2: Path, folder: Path, labelled: int, unlabeled: int, validation: int) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(sst2 / "train.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    random.Random(42).shuffle(rows)
    parts = {
        "labelled": rows[:labelled],
        "validation": rows[labelled : labelled + validation],
        "unlabeled": rows[labelled + validation : labelled + validation + unlabeled],
    }
    files = {}
    for name in ("labelled", "validation"):
        path = folder / f"{name}.tsv"
        lines = ["sentence\tlabel"] + [f"{r['sentence'].strip()}\t{r['label']}" for r in parts[name]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[name] = str(path)
    path = folder / "unlabeled.txt"
    path.write_text("".join(r["sentence"].strip() + "\n" for r in parts["unlabeled"]), encoding="utf-8")
    files["unlabeled"] = str(path)
    files["test"] = str(sst2 / "dev.tsv")
    return files


def run(name: str, argv: list[str], output: Path) -> dict:
    started = time.perf_counter()
    command = [
        sys.executable,
        str(ROOT / "recipes" / "classify.py"),
        *argv,
        "--output_dir",
        str(output / name),
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    results = json.loads((output / name / "all_results.json").read_text())
    return {**results, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/self-training-sst2")
    parser.add_argument("--sst2", default=str(ROOT.parent / "shared" / "data" / "sst2"))
    parser.add_argument("--labelled", type=int, default=500)
    parser.add_argument("--unlabeled", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    output = Path(args.output)
    files = prepare(Path(args.sst2), output / "data", args.labelled, args.unlabeled, 1000)
    data = ["--train_file", files["labelled"], "--validation_file", files["validation"]]
    data += ["--test_file", files["test"], *COMMON]
    self_trained = run(
        "self-training",
        [*data, "--num_train_epochs", "5", "--unlabeled_file", files["unlabeled"],
         "--self_training_rounds", str(args.rounds), "--self_training_epochs", "1",
         "--pseudo_label_threshold", "0.9"],
        output,
    )  # fmt: skip
    steps = self_trained["train_steps"]
    same_budget = run("labelled-only", [*data, "--max_steps", str(steps)], output)
    both = {"self_training": self_trained, "labelled_only": same_budget}
    (output / "self_training.json").write_text(json.dumps(both, indent=2))
    print("| run | round | kept (neg / pos) | validation accuracy | steps so far |")
    print("|---|---|---|---|---|")
    total = 0
    for entry in self_trained["self_training"]:
        total += entry["steps"]
        counts = " / ".join(str(v) for v in entry["kept_per_label"].values()) or "-"
        print(f"| self-training | {entry['round']} | {entry['kept']} ({counts}) | "
              f"{entry['eval_accuracy']:.4f} | {total} |")  # fmt: skip
    print(f"| labelled only | - | - | {same_budget['eval_accuracy']:.4f} | {steps} |")
    print(
        f"\ntest (SST-2 dev) accuracy: self-training {self_trained['test_accuracy']:.4f} "
        f"({self_trained['seconds']:.0f} s), labelled only, same steps {same_budget['test_accuracy']:.4f} "
        f"({same_budget['seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
