"""recipes/rl.py: GRPO / RLOO through TRL on a tiny random policy, rewarded by a tiny classifier."""

import json
import runpy
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from mossrl_hf.cli import parse_args
from mossrl_hf.errors import ConfigError, DataError
from mossrl_hf.lm_configs import GrpoTrainingArguments, join_repeated, rl_algorithm_in
from mossrl_hf.tasks import clm, rl
from tests.conftest import REPO, _bert_vocabulary, write
from tests.test_accelerate_configs import CONFIGS, DEEPSPEED_INSTALLED, resolve_launch
from tests.test_cli import recipe_cli_error
from tests.test_clm import SENTENCES

PROMPTS = ["the film is", "this movie", "the acting", "a story", "the plot is", "i found it", "the director"]


@pytest.fixture(scope="session")
def rl_main():
    return runpy.run_path(str(REPO / "recipes" / "rl.py"), run_name="rl_recipe")["main"]


@pytest.fixture(scope="session")
def tiny_policy_dir(tmp_path_factory) -> str:
    """A 2-layer GPT-2 with random weights and a byte-level BPE tokenizer trained on a few sentences."""
    from transformers import set_seed

    directory = tmp_path_factory.mktemp("tiny-policy")
    tokenizer = clm.train_tokenizer(SENTENCES, 300)
    set_seed(0)
    clm.new_model("tiny", tokenizer, 64).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def eager_to_stop_policy_dir(tiny_policy_dir, tmp_path_factory) -> str:
    """The tiny policy made to end every completion at once: every position's last hidden state points at
    the end-of-text token's (tied) embedding, so without a minimum length completions are empty."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = tmp_path_factory.mktemp("eager-policy")
    model = AutoModelForCausalLM.from_pretrained(tiny_policy_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_policy_dir)
    with torch.no_grad():
        end = model.get_output_embeddings().weight[tokenizer.eos_token_id]
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(end * 50 / end.norm() ** 2)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory) -> str:
    """A 2-layer BERT sentiment classifier (negative, positive) with random weights: a reward function."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, set_seed

    directory = tmp_path_factory.mktemp("tiny-classifier")
    vocab_file = write(directory / "vocab.txt", "\n".join(_bert_vocabulary()) + "\n")
    set_seed(0)
    labels = {0: "negative", 1: "positive"}
    config = BertConfig(
        vocab_size=len(_bert_vocabulary()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, id2label=labels,
        label2id={name: index for index, name in labels.items()},
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(directory)
    BertTokenizer(vocab_file=vocab_file, do_lower_case=True).save_pretrained(directory)
    return str(directory)


@pytest.fixture
def rl_argv(tiny_policy_dir, tiny_classifier_dir, tmp_path):
    prompts = write(tmp_path / "prompts.txt", "\n".join(PROMPTS) + "\n")
    held_out = write(tmp_path / "eval.jsonl", "".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS[:2]))
    return [
        "--model_name_or_path", tiny_policy_dir, "--reward_model", tiny_classifier_dir,
        "--prompts_file", prompts, "--eval_prompts_file", held_out, "--output_dir", str(tmp_path / "out"),
        "--max_steps", "2", "--max_completion_length", "6", "--per_device_train_batch_size", "4",
        "--num_generations", "2", "--eval_generations", "2", "--learning_rate", "1e-2", "--report_to", "none",
    ]  # fmt: skip


def check_run(output, policy_dir: str, results: dict) -> None:
    before, after = load_file(f"{policy_dir}/model.safetensors"), load_file(output / "model.safetensors")
    assert any(not torch.equal(before[name], after[name]) for name in before), "the policy did not change"
    for key in ("reward_before", "reward_after", "perplexity_before", "perplexity_after", "kl_after"):
        assert isinstance(results[f"eval_{key}"], float)
    assert 0.0 <= results["eval_reward_before"] <= 1.0  # a probability
    for name in ("samples_before.jsonl", "samples_after.jsonl"):
        records = [json.loads(line) for line in (output / name).read_text().splitlines()]
        assert len(records) == 2 * 2 and {record["prompt"] for record in records} == set(PROMPTS[:2])
        assert all({"prompt", "completion", "reward"} <= set(record) for record in records)
    mean = sum(
        json.loads(line)["reward"] for line in (output / "samples_after.jsonl").read_text().splitlines()
    )
    assert mean / 4 == pytest.approx(results["eval_reward_after"], abs=1e-5)
    assert (
        json.loads((output / "all_results.json").read_text())["eval_reward_after"]
        == results["eval_reward_after"]
    )
    card = (output / "README.md").read_text()
    assert "pipeline_tag: text-generation" in card and "| `num_generations` | 2 |" in card


def test_grpo_trains_the_policy_and_evaluates_it(rl_main, rl_argv, tiny_policy_dir, tmp_path):
    results = rl_main([*rl_argv, "--beta", "0.1"])
    output = tmp_path / "out"
    check_run(output, tiny_policy_dir, results)
    assert (output / "rl_curves.png").stat().st_size > 0
    assert "train_kl" in results and "train_reward" in results  # TRL's figures, named as training figures


def test_a_minimum_length_holds_back_the_end_of_text(eager_to_stop_policy_dir):
    model, tokenizer = rl.load_policy(SimpleNamespace(
        model_name_or_path=eager_to_stop_policy_dir, model_revision=None, allow_pickle_weights=False
    ))  # fmt: skip
    end = tokenizer.eos_token_id
    sampling = rl.Sampling(max_new_tokens=6, temperature=1.0, top_p=1.0, top_k=None, generations=2)
    assert [completion for _, _, completion in rl.sample(model, tokenizer, PROMPTS[:2], sampling)] == [
        [end]
    ] * 4
    sampling.min_new_tokens = 3
    completions = [completion for _, _, completion in rl.sample(model, tokenizer, PROMPTS[:2], sampling)]
    assert [len(c) for c in completions] == [4] * 4 and all(c[-1] == end not in c[:-1] for c in completions)


def test_eval_kl_is_taken_at_the_sampling_temperature_and_perplexity_at_one(tiny_policy_dir):
    from transformers import AutoModelForCausalLM

    policy, tokenizer = rl.load_policy(SimpleNamespace(
        model_name_or_path=tiny_policy_dir, model_revision=None, allow_pickle_weights=False
    ))  # fmt: skip
    reference = AutoModelForCausalLM.from_pretrained(tiny_policy_dir).eval()
    with torch.no_grad():
        policy.lm_head.weight.mul_(1.5)  # tied with the input embeddings: another distribution
    sampling = rl.Sampling(max_new_tokens=5, temperature=0.5, top_p=1.0, top_k=None, generations=2)
    figures, _ = rl.evaluate_policy(policy, tokenizer, PROMPTS[:2], [lambda p, c: [0.0] * len(c)], [1.0],
                                    sampling, reference, seed=3)  # fmt: skip
    torch.manual_seed(3)
    samples = rl.sample(policy, tokenizer, PROMPTS[:2], sampling)

    def logprobs(model, temperature):
        values = []
        for _, prompt_ids, completion in samples:
            logits = model(input_ids=torch.tensor([prompt_ids + completion])).logits[0].float()
            steps = torch.log_softmax(logits / temperature, -1)[len(prompt_ids) - 1 : -1]
            values.append(steps.gather(-1, torch.tensor(completion)[:, None])[:, 0])
        return values

    with torch.no_grad():
        pairs = zip(logprobs(policy, 0.5), logprobs(reference, 0.5), strict=True)
        kl = sum(float((p - r).sum()) for p, r in pairs)
        at_one = torch.cat(logprobs(reference, 1.0))
    assert figures["kl"] == pytest.approx(kl / len(samples), rel=1e-4)
    assert figures["perplexity"] == pytest.approx(float(torch.exp(-at_one.mean())), rel=1e-4)


def test_grpo_with_a_minimum_length_trains_and_evaluates_on_long_enough_completions(
    rl_main, rl_argv, eager_to_stop_policy_dir, tmp_path
):
    argv = [*rl_argv, "--model_name_or_path", eager_to_stop_policy_dir, "--min_completion_length", "3"]
    results = rl_main(argv)
    assert results["train_completions/min_length"] >= 3  # what TRL sampled in training
    assert results["eval_completion_length_before"] >= 4 and results["eval_completion_length_after"] >= 4


@pytest.mark.parametrize(
    ("given", "minimum", "expected"), [(set(), 8, 8), (set(), 4, 6), ({"max_completion_length"}, 8, None)]
)
def test_a_minimum_above_the_maximum_length(given, minimum, expected):
    training_args = SimpleNamespace(max_completion_length=6, generation_kwargs={"top_k": 5})
    if expected is None:
        with pytest.raises(ConfigError, match="--min_completion_length 8 is above --max_completion_length 6"):
            rl.hold_back_end_of_text(training_args, SimpleNamespace(min_completion_length=minimum), given)
        return
    rl.hold_back_end_of_text(training_args, SimpleNamespace(min_completion_length=minimum), given)
    assert training_args.max_completion_length == expected
    assert training_args.generation_kwargs == {"top_k": 5, "min_new_tokens": minimum}


def test_rloo_with_two_weighted_reward_models(
    rl_main, rl_argv, tiny_policy_dir, tiny_classifier_dir, tmp_path
):
    extra = ["--rl_algorithm", "rloo", "--reward_model", tiny_classifier_dir, "--reward_weights", "1"]
    results = rl_main([*rl_argv, *extra, "--reward_weights", "0.5", "--positive_label", "negative"])
    check_run(tmp_path / "out", tiny_policy_dir, results)
    record = json.loads((tmp_path / "out" / "samples_after.jsonl").read_text().splitlines()[0])
    assert record["reward"] == pytest.approx(1.5 * record["rewards"][0], abs=1e-5)


def test_repeated_flags_and_the_algorithm_from_a_config(tmp_path):
    argv = [
        "--reward_model",
        "a",
        "--lr",
        "1",
        "--reward_model=b",
        "--reward_weights",
        "1",
        "--reward_weights",
        "2",
    ]
    assert join_repeated(argv) == ["--lr", "1", "--reward_model", "a", "b", "--reward_weights", "1", "2"]
    config = write(tmp_path / "c.yaml", "rl_algorithm: rloo\n")
    assert rl_algorithm_in(["--config", config]) == "rloo"
    assert rl_algorithm_in(["--config", config, "--rl_algorithm", "grpo"]) == "grpo"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--num_generations", "1"], "--num_generations must be at least 2 for grpo"),
        (["--rl_algorithm", "ppo"], "--rl_algorithm must be one of grpo, rloo, not 'ppo'"),
        (["--reward_weights", "1", "2"], "--reward_weights: 2 weights for 1 reward models"),
        (["--min_completion_length", "-1"], "--min_completion_length must be 0 or more, not -1"),
        (["--min_completion_length", "7"], "--min_completion_length 7 is above --max_completion_length 6"),
    ],
)
def test_bad_settings_stop_before_training(rl_main, rl_argv, tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        rl_main([*rl_argv, *extra])
    assert not (tmp_path / "out").exists()


def test_bad_models_and_prompts_stop_before_training(rl_main, rl_argv, tiny_classifier_dir, tmp_path):
    empty = write(tmp_path / "empty.txt", "\n")
    with pytest.raises(DataError, match="no prompts found"):
        rl_main([*rl_argv, "--prompts_file", empty])
    with pytest.raises(ConfigError, match="BertForSequenceClassification has no generation head"):
        rl_main([*rl_argv, "--model_name_or_path", tiny_classifier_dir])
    assert not (tmp_path / "out").exists()


def test_a_label_the_reward_model_lacks_is_one_line_listing_its_labels(rl_argv, tmp_path):
    line = recipe_cli_error([*rl_argv, "--positive_label", "good"], recipe="rl")
    assert line == "positive label 'good' is not one of the model's labels (negative, positive)"
    assert not (tmp_path / "out").exists()


def test_trl_bf16_default_stays_off_on_a_cpu_unless_asked():
    args = parse_args((GrpoTrainingArguments,), ["--use_cpu"]).values[0]
    assert args.bf16 == torch.cuda.is_available()
    assert parse_args((GrpoTrainingArguments,), ["--use_cpu", "--bf16", "true"]).values[0].bf16


def test_every_trl_flag_is_a_flag():
    argv = ["--beta", "0.2", "--top_p", "0.9", "--loss_type", "grpo"]
    args = parse_args((GrpoTrainingArguments,), argv, rl_recipe_defaults()).values[0]
    assert args.beta == 0.2 and args.top_p == 0.9 and args.loss_type == "grpo"


def rl_recipe_defaults() -> dict:
    return runpy.run_path(str(REPO / "recipes" / "rl.py"), run_name="recipe")["RECIPE_DEFAULTS"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_rl_parses_under_every_accelerate_config(config, monkeypatch, tmp_path):
    """rl.py's arguments (TRL's config) as the processes `accelerate launch --config_file <config>` starts
    would parse them: with the environment accelerate gives them."""
    if "deepspeed" in config.name and not DEEPSPEED_INSTALLED:
        pytest.skip("deepspeed is not installed")
    _, environment = resolve_launch(config.name)
    for key, value in environment.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    argv = ["--config", str(REPO / "recipes/configs/rl/sst2-positive_gpt2-small_grpo.yaml")]
    argv += ["--output_dir", str(tmp_path / "out")]
    _, rl_args, training = parse_args(rl_recipe_types(), argv, rl_recipe_defaults()).values
    assert training.generation_batch_size % training.num_generations == 0 and rl_args.reward_model


def rl_recipe_types():
    return runpy.run_path(str(REPO / "recipes" / "rl.py"), run_name="recipe")["ARGUMENT_TYPES"]


def test_pipeline_report_shows_stages_and_samples(tmp_path):
    from mossrl_hf.tasks.rl_report import report

    figures = {
        "clm": {"eval_perplexity": 80.5},
        "classify": {"eval_accuracy": 0.85},
        "rl": {"eval_reward_before": 0.4, "eval_reward_after": 0.7, "eval_kl_after": 3.2}
        | {"eval_perplexity_before": 90.0, "eval_perplexity_after": 60.0},
    }
    for stage, values in figures.items():
        (tmp_path / stage).mkdir()
        write(tmp_path / stage / "all_results.json", json.dumps(values))
    for name, reward in (("samples_before.jsonl", 0.25), ("samples_after.jsonl", 0.75)):
        rows = [{"prompt": f"p{i // 2}", "completion": f" c{i}", "reward": reward} for i in range(8)]
        write(tmp_path / "rl" / name, "".join(json.dumps(row) + "\n" for row in rows))
    write(tmp_path / "stage_seconds.txt", "clm 500\nclassify 200\nrl 240\n")
    text = report(tmp_path)
    assert "reward 0.4000 -> 0.7000, KL 3.20 nats" in text and "total       940 s" in text
    assert text.count("[0.750] p") == 3 and "p0 | c0" in text and "p2 | c4" in text
