"""Continual learning on CoNLL-2003, measured: a MiniLM tagger trained on PER+LOC only, then continued on
ORG+MISC only (other sentences of the training set) with each way of not forgetting; the old types' test F1
before and after, the new types' test F1, and time.

    python scripts/continual_ner.py --output runs/continual-ner            # about 20 minutes on 2 CPU cores

The split: the training set's first half of sentences is the old task (its ORG and MISC tagged O), the
second half the new task (its PER and LOC tagged O); validation and test files are filtered the same way for
each task. Every run: 1 epoch, batch 32, learning rate 5e-5, seed 42, float32.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_TYPES, NEW_TYPES = {"PER", "LOC"}, {"ORG", "MISC"}
COMMON = [
    "--num_train_epochs", "1", "--per_device_train_batch_size", "32", "--learning_rate", "5e-5",
    "--seed", "42", "--bf16", "false", "--save_strategy", "no", "--eval_strategy", "no",
    "--logging_steps", "50", "--disable_tqdm", "true", "--report_to", "none",
]  # fmt: skip
CONTINUATIONS = {
    "none": [],
    "replay": ["--replay_file", "{old_train}", "--replay_ratio", "0.25"],
    "l2sp": ["--continual_regularization", "l2sp"],
    "ewc": ["--continual_regularization", "ewc", "--replay_file", "{old_train}", "--replay_ratio", "0"],
    "replay+ewc": ["--continual_regularization", "ewc", "--replay_file", "{old_train}"],
    # The same methods at other strengths.
    "replay-1.0": ["--replay_file", "{old_train}", "--replay_ratio", "1.0"],
    "l2sp-0.01": ["--continual_regularization", "l2sp", "--continual_lambda", "0.01"],
    "ewc-0.01": [
        "--continual_regularization", "ewc", "--continual_lambda", "0.01",
        "--replay_file", "{old_train}", "--replay_ratio", "0",
    ],
}  # fmt: skip


def sentences(path: Path) -> list[list[str]]:
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    lines = [[line for line in block.splitlines() if line.strip()] for block in blocks]
    return [block for block in lines if block and not block[0].startswith("-DOCSTART-")]


def keep_types(block: list[str], types: set[str]) -> list[str]:
    out = []
    for line in block:
        parts = line.split(" ")
        if parts[-1] != "O" and parts[-1].split("-", 1)[1] not in types:
            parts[-1] = "O"
        out.append(" ".join(parts))
    return out


def write(path: Path, blocks: list[list[str]], types: set[str]) -> str:
    path.write_text("".join("\n".join(keep_types(b, types)) + "\n\n" for b in blocks), encoding="utf-8")
    return str(path)


def prepare(conll: Path, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    train = sentences(conll / "train.txt")
    half = len(train) // 2
    files = {}
    for task, blocks, types in (("old", train[:half], OLD_TYPES), ("new", train[half:], NEW_TYPES)):
        files[f"{task}_train"] = write(folder / f"{task}_train.txt", blocks, types)
        for split, name in (("valid", "valid.txt"), ("test", "test.txt")):
            files[f"{task}_{split}"] = write(folder / f"{task}_{split}.txt", sentences(conll / name), types)
    return files


def run(name: str, argv: list[str], output: Path) -> dict:
    started = time.perf_counter()
    command = [sys.executable, str(ROOT / "recipes" / "ner.py"), *argv, "--output_dir", str(output / name)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    results = json.loads((output / name / "all_results.json").read_text())
    return {**results, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/continual-ner")
    parser.add_argument("--conll", default=str(ROOT.parent / "shared" / "data" / "conll2003"))
    parser.add_argument("--only", default=",".join(list(CONTINUATIONS)[:5]), help="continuations to run")
    args = parser.parse_args()
    output = Path(args.output)
    files = prepare(Path(args.conll), output / "data")
    task = ["--validation_file", files["old_valid"], "--test_file", files["old_test"]]
    old_dir = output / "old-task"
    if (old_dir / "all_results.json").exists():  # a re-run of some continuations reuses the old task
        old = json.loads((old_dir / "all_results.json").read_text())
    else:
        old = run("old-task", ["--train_file", files["old_train"], *task, *COMMON], output)
    print(f"old task (PER+LOC): test F1 {old['test_f1']:.4f}", flush=True)
    table = output / "continual.json"  # rows of earlier invocations are kept (re-runs replace theirs)
    rows = json.loads(table.read_text()) if table.exists() else {}
    for name in args.only.split(","):
        extra = [flag.format(**files) for flag in CONTINUATIONS[name]]
        argv = [
            "--model_name_or_path", str(old_dir), "--train_file", files["new_train"],
            "--validation_file", files["new_valid"], "--test_file", files["new_test"],
            "--previous_test_file", files["old_test"], *extra, *COMMON,
        ]  # fmt: skip
        rows[name] = run(name, argv, output)
        print(name, {k: rows[name].get(k) for k in ("previous_after_f1", "test_f1", "seconds")}, flush=True)
    table.write_text(json.dumps(rows, indent=2))
    print("| continuation | old types F1 before | after | forgetting | new types F1 | time (s) |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['previous_before_f1']:.4f} | {r['previous_after_f1']:.4f} | "
            f"{r['forgetting_f1']:+.4f} | {r['test_f1']:.4f} | {r['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
