"""Self-training on SST-2 with few labels, measured: 500 labelled sentences and 20,000 unlabeled ones; the
labelled-only model (5 epochs: the first round alone) against 1 and 3 rounds of self-training, each beside
labelled-only training for as many steps (the same budget). Runs already in --output are reused.

    python scripts/self_training_sst2.py --output runs/self-training-sst2     # about 20 minutes, 2 cores

The split (seeded, 42): from SST-2's training set, 500 labelled sentences, 20,000 others without their
labels, 1,000 others as the validation set that scores each round; SST-2's dev set is the test set.
Rounds: 5 epochs on the labelled data, then 1 epoch per round on labelled + pseudo-labelled texts whose
predicted class has probability >= 0.9. Batch 32, learning rate 5e-5, seed 42, float32.
"""

import argparse
import csv
import json
import math
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
    """One classify.py run (or the results of an earlier one of the same name: re-runs add the missing)."""
    if (output / name / "all_results.json").exists():
        return json.loads((output / name / "all_results.json").read_text())
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
    parser.add_argument("--rounds", default="1,3", help="self-training runs of these many rounds")
    args = parser.parse_args()
    output = Path(args.output)
    files = prepare(Path(args.sst2), output / "data", args.labelled, args.unlabeled, 1000)
    data = ["--train_file", files["labelled"], "--validation_file", files["validation"]]
    data += ["--test_file", files["test"], *COMMON]
    first = run("labelled-only", [*data, "--num_train_epochs", "5"], output)
    runs = {"labelled only, 5 epochs (round 0 alone)": (first, math.ceil(args.labelled / 32) * 5)}
    for rounds in sorted(int(value) for value in args.rounds.split(",")):
        result = run(
            f"self-training-{rounds}",
            [*data, "--num_train_epochs", "5", "--unlabeled_file", files["unlabeled"],
             "--self_training_rounds", str(rounds), "--self_training_epochs", "1",
             "--pseudo_label_threshold", "0.9"],
            output,
        )  # fmt: skip
        runs[f"self-training, {rounds} round(s)"] = (result, result["train_steps"])
        # The same budget without the unlabeled texts: as many steps on the labelled data alone.
        steps = result["train_steps"]
        same = run(f"labelled-only-{steps}", [*data, "--max_steps", str(steps)], output)
        runs[f"labelled only, {steps} steps (as {rounds} round(s))"] = (same, steps)
    (output / "self_training.json").write_text(
        json.dumps({name: r for name, (r, _) in runs.items()}, indent=2)
    )
    print(
        "| run | steps | kept per round (neg / pos) | validation accuracy by round | test accuracy | time |"
    )
    print("|---|---|---|---|---|---|")
    for name, (result, run_steps) in runs.items():
        rounds = result.get("self_training", [])
        kept = ", ".join(" / ".join(map(str, e["kept_per_label"].values())) for e in rounds[1:]) or "-"
        by_round = ", ".join(f"{e['eval_accuracy']:.3f}" for e in rounds) or f"{result['eval_accuracy']:.3f}"
        print(f"| {name} | {run_steps} | {kept} | {by_round} | {result['test_accuracy']:.4f} | "
              f"{result['train_runtime']:.0f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
