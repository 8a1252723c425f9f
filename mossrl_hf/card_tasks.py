"""The tasks a model card can describe: pipeline tag, Auto class, recipe, tags and headline metrics of each,
and the names people read for those metrics."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    pipeline_tag: str
    head: str  # the Auto classes' suffix: AutoModelFor{head}, AutoPeftModelFor{head}
    recipe: str
    description: str
    tags: tuple[str, ...]
    metrics: tuple[str, ...]  # overall figures: all_results keys without the split prefix, in table order


TASKS = {
    "ner": Task(
        "token-classification",
        "TokenClassification",
        "recipes/ner.py",
        "named entity recognition (a tag for each word)",
        ("token-classification", "ner"),
        tuple("f1 precision recall strict_f1 strict_precision strict_recall accuracy".split()),
    ),
    "classification": Task(
        "text-classification",
        "SequenceClassification",
        "recipes/classify.py",
        "text classification (a label for each text)",
        ("text-classification",),
        tuple("accuracy f1 precision recall roc_auc".split()),
    ),
    "reward_model": Task(
        "text-classification",
        "SequenceClassification",
        "recipes/reward_model.py",
        "pairwise preference reward modelling (one scalar reward for each text, trained with "
        "-log sigmoid(r_chosen - r_rejected))",
        ("text-classification", "reward-model"),
        tuple("accuracy mean_margin longer_wins_accuracy reward_mean reward_std".split())
        + ("chosen_reward_mean", "rejected_reward_mean"),
    ),
    "causal_lm": Task(
        "text-generation",
        "CausalLM",
        "recipes/clm.py",
        "causal language modelling (next-token prediction on plain text)",
        ("text-generation", "causal-lm"),
        ("perplexity", "loss"),
    ),
    "masked_lm": Task(
        "fill-mask",
        "MaskedLM",
        "recipes/mlm.py",
        "masked language modelling (domain-adaptive pretraining on unlabeled text)",
        ("fill-mask", "masked-lm", "domain-adaptation"),
        ("perplexity", "perplexity_before", "loss"),
    ),
    "rl": Task(
        "text-generation",
        "CausalLM",
        "recipes/rl.py",
        "reinforcement learning against reward models (TRL's GRPO or RLOO)",
        ("text-generation", "reinforcement-learning", "trl"),
        tuple("reward_after reward_before kl_after perplexity_after perplexity_before".split()),
    ),
}
_TITLES = {
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "longer_wins_accuracy": "longer-reply baseline accuracy",
    "reward_mean": "mean reward",
    "reward_std": "reward std",
    "chosen_reward_mean": "mean reward (chosen)",
    "rejected_reward_mean": "mean reward (rejected)",
    "reward_after": "mean reward after training",
    "reward_before": "mean reward before training",
    "kl_after": "KL to the reference (nats per completion)",
    "perplexity_after": "reference perplexity of completions after",
    "perplexity_before": "reference perplexity of completions before",
}


def metric_title(task: str, metric: str, labels: list[str]) -> str:
    """A metric's name for people. Classification F1/precision/recall are for the positive (second)
    label with two labels, macro averages with more."""
    if metric.startswith("strict_"):
        return metric_title(task, metric.removeprefix("strict_"), labels) + " (strict)"
    title = _TITLES.get(metric, metric.replace("_", " "))
    if task == "ner":
        return "word accuracy" if metric == "accuracy" else f"entity {title}"
    if task == "reward_model" and metric == "accuracy":
        return "pairwise accuracy"
    if task == "masked_lm" and metric == "perplexity_before":
        return "perplexity of the starting model"
    if task == "classification" and metric in ("f1", "precision", "recall"):
        title += f" ({labels[1]})" if len(labels) == 2 else " (macro)"
    return title
