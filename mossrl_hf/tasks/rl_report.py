"""The summary recipes/rl_pipeline.sh prints at its end: each stage's figures and time, and three samples
before and after reinforcement learning.

    python -m mossrl_hf.tasks.rl_report outputs/rl-pipeline
"""

import json
import sys
from pathlib import Path


def _samples(path: Path, count: int = 3) -> list[str]:
    """The first completion of each of the first `count` prompts."""
    firsts: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        firsts.setdefault(record["prompt"], record)
    records = list(firsts.values())[:count]
    return [f"  [{r['reward']:.3f}] {r['prompt']} | {r['completion'].strip()}" for r in records]


def report(root: Path) -> str:
    seconds = dict(line.split() for line in (root / "stage_seconds.txt").read_text().splitlines() if line)
    clm = json.loads((root / "clm" / "all_results.json").read_text())
    classify = json.loads((root / "classify" / "all_results.json").read_text())
    rl = json.loads((root / "rl" / "all_results.json").read_text())
    total = sum(int(value) for value in seconds.values())
    lines = [
        f"clm       {int(seconds['clm']):5d} s  eval perplexity {clm['eval_perplexity']:.1f}",
        f"classify  {int(seconds['classify']):5d} s  eval accuracy {classify['eval_accuracy']:.4f}",
        f"rl        {int(seconds['rl']):5d} s  reward {rl['eval_reward_before']:.4f} -> "
        f"{rl['eval_reward_after']:.4f}, KL {rl['eval_kl_after']:.2f} nats, reference perplexity "
        f"{rl['eval_perplexity_before']:.1f} -> {rl['eval_perplexity_after']:.1f}",
        f"total     {total:5d} s",
        "samples before (reward, prompt | completion):",
        *_samples(root / "rl" / "samples_before.jsonl"),
        "samples after:",
        *_samples(root / "rl" / "samples_after.jsonl"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/rl-pipeline")))
