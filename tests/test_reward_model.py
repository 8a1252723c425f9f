import gzip
import json
import runpy

import numpy as np
import pytest
import torch

from mossrl_hf.configs import PreferenceDataArguments
from mossrl_hf.data.preference_data import load_preference_data, split_shared_prompt
from mossrl_hf.errors import DataError
from mossrl_hf.tasks.preference import PairCollator, fit_pair_side, longer_wins_accuracy, pairwise_metrics
from mossrl_hf.training.trainers import PairwiseRewardTrainer
from tests.conftest import REPO, recipe_error, write

PAIRS = [
    {"prompt": "How do I bake bread?", "chosen": "Mix flour, water and yeast, then bake.", "rejected": "No."},
    {
        "prompt": "Say hi",
        "chosen": "Hi there!",
        "rejected": "Go away, I will not say anything to you at all.",
    },
    {"prompt": "What is two plus two?", "chosen": "Four.", "rejected": "Five, obviously, everyone knows it."},
    {"prompt": "Name a colour", "chosen": "Blue.", "rejected": "I refuse."},
]


def jsonl(path, rows, compress=False) -> str:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
        return str(path)
    return write(path, text)


def test_shared_prompt_split_on_the_last_assistant_turn():
    chosen = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: Sure, here is how."
    rejected = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: Sure? No."
    prompt, c, r = split_shared_prompt(chosen, rejected)
    assert prompt.endswith("help me\n\nAssistant:") and c == " Sure, here is how." and r == " Sure? No."
    assert split_shared_prompt("the cat sat", "the cat ran") == ("the cat ", "sat", "ran")


def test_reading_gzip_and_holding_out(tmp_path):
    path = jsonl(
        tmp_path / "p.jsonl.gz",
        [{"chosen": f"A: yes {i}", "rejected": f"A: no {i}"} for i in range(10)],
        compress=True,
    )
    args = PreferenceDataArguments(train_file=path, validation_split_percentage=20, split_seed=1)
    splits, record = load_preference_data(args)
    assert (
        len(splits["train"]) == 8
        and len(splits["validation"]) == 2
        and splits["test"] is splits["validation"]
    )
    assert record["held_out_lines"] == splits["test"].lines and record["used_as"] == ["validation", "test"]
    again, _ = load_preference_data(args)
    assert again["test"].lines == splits["test"].lines
    assert not set(splits["train"].lines) & set(splits["test"].lines)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"chosen": "same", "rejected": "same"}, "chosen and rejected are the same text: 'same'"),
        ({"chosen": "a"}, "missing key 'rejected'"),
        ({"chosen": " ", "rejected": "b"}, "empty or non-text 'chosen'"),
    ],
)
def test_bad_pairs(tmp_path, row, message):
    path = jsonl(tmp_path / "p.jsonl", [PAIRS[0], row])
    with pytest.raises(DataError) as caught:
        load_preference_data(PreferenceDataArguments(train_file=path))
    assert str(caught.value).startswith(f"{path}:2: {message}")


def test_truncation_keeps_the_response():
    prompt, response = list(range(100, 110)), [1, 2, 3, 4]
    assert fit_pair_side(prompt, response, 20) == (prompt + response, False)
    assert fit_pair_side(prompt, response, 7) == ([107, 108, 109, 1, 2, 3, 4], True)
    assert fit_pair_side(prompt, response, 3) == ([2, 3, 4], True)  # the end of the answer survives


def test_pairwise_loss_on_hand_made_rewards():
    class FixedRewards(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": input_ids[:, :1].float()})()

    trainer = PairwiseRewardTrainer.__new__(PairwiseRewardTrainer)
    trainer.center_rewards_coefficient = None
    inputs = {
        "input_ids": torch.tensor([[2], [0], [1], [1]]),
        "attention_mask": torch.ones(4, 1),
        "margin": torch.tensor([0.0, 0.5]),
    }
    # chosen rewards (2, 0), rejected (1, 1): -log sigmoid(1) and -log sigmoid(-1 - 0.5)
    expected = (-np.log(1 / (1 + np.exp(-1.0))) - np.log(1 / (1 + np.exp(1.5)))) / 2
    assert trainer.compute_loss(FixedRewards(), inputs).item() == pytest.approx(expected, rel=1e-6)
    trainer.center_rewards_coefficient = 0.1
    centred = trainer.compute_loss(FixedRewards(), inputs).item()
    assert centred == pytest.approx(expected + 0.1 * (9 + 1) / 2, rel=1e-6)


def test_pairwise_metrics_and_longer_rule(tmp_path):
    rewards = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    metrics = pairwise_metrics(rewards)
    assert metrics["accuracy"] == pytest.approx(2 / 3) and metrics["mean_margin"] == pytest.approx(
        (1 - 2 + 2) / 3
    )
    assert metrics["reward_mean"] == pytest.approx(7 / 6)
    splits, _ = load_preference_data(PreferenceDataArguments(train_file=jsonl(tmp_path / "p.jsonl", PAIRS)))
    assert longer_wins_accuracy(splits["train"]) == pytest.approx(1 / 4)  # only the bread answer is longer


def test_collator_puts_chosen_then_rejected():
    batch = PairCollator(type("T", (), {"pad_token_id": 0})())(
        [
            {"chosen_input_ids": [5, 6], "rejected_input_ids": [7], "margin": 0.0},
            {"chosen_input_ids": [8], "rejected_input_ids": [9, 9, 9], "margin": 1.0},
        ]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 0], [8, 0, 0], [7, 0, 0], [9, 9, 9]]
    assert batch["attention_mask"].sum().item() == 7 and batch["margin"].tolist() == [0.0, 1.0]


def reward_model_argv(model_dir: str, data: str, output, **extra) -> list[str]:
    """Flags for a short reward_model.py run on `data`, a quarter of it held out."""
    options = {
        "model_name_or_path": model_dir,
        "train_file": data,
        "validation_split_percentage": "25",
        "output_dir": str(output),
        "save_strategy": "no",
        **extra,
    }
    return [token for key, value in options.items() for token in (f"--{key}", str(value))]


def test_reward_model_recipe_and_reward_api(tiny_bert_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from mossrl_hf.reward import load_reward_function

    main = runpy.run_path(str(REPO / "recipes" / "reward_model.py"), run_name="reward_recipe")["main"]
    data = jsonl(tmp_path / "pairs.jsonl", PAIRS * 3)
    output = tmp_path / "rm"
    results = main(
        reward_model_argv(
            tiny_bert_dir,
            data,
            output,
            max_steps=3,
            per_device_train_batch_size=2,
            learning_rate="1e-3",
            disable_tqdm="true",
            max_seq_length=16,
        )
    )
    assert 0 <= results["test_accuracy"] <= 1 and "test_longer_wins_accuracy" in results
    assert results["train_truncated_pairs"] > 0  # 16 tokens is less than some pairs need
    held = json.loads((output / "held_out_split.json").read_text())
    assert len(held["held_out_lines"]) == 3
    predictions = [json.loads(line) for line in (output / "test_predictions.jsonl").read_text().splitlines()]
    assert [p["line"] for p in predictions] == held["held_out_lines"]
    model = AutoModelForSequenceClassification.from_pretrained(output)
    assert model.config.num_labels == 1
    scores = load_reward_function(str(output))(["Hi there!", "Go away."])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)


def test_reward_model_bad_input_is_one_line(tiny_bert_dir, tmp_path):
    bad = jsonl(tmp_path / "bad.jsonl", [PAIRS[0], {"chosen": "x", "rejected": "x"}])
    last_line = recipe_error("reward_model", tiny_bert_dir, bad, tmp_path / "out")
    assert last_line == f"{bad}:2: chosen and rejected are the same text: 'x'"
