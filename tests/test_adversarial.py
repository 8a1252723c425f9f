"""Adversarial training on tiny models: perturbations inside epsilon, the hook gone after the step, the
gradients changed, and the recipes with each method, with LoRA and with a teacher."""

import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from mossrl_hf.configs import RecipeTrainingArguments
from mossrl_hf.method_configs import RobustnessArguments, check_robustness_flags
from mossrl_hf.training import RecipeTrainer, with_methods
from mossrl_hf.training.adversarial import EmbeddingPerturbation, per_example_norm, project, step
from tests.test_cli import recipe_cli_error
from tests.test_ner_recipe import run_args


def test_steps_and_projection_keep_each_example_inside_epsilon():
    torch.manual_seed(0)
    gradient = torch.randn(3, 5, 8) * torch.tensor([1e-3, 1.0, 1e3]).view(3, 1, 1)
    assert per_example_norm(step(gradient, 0.3)).flatten().tolist() == pytest.approx([0.3] * 3, rel=1e-5)
    big = torch.randn(3, 5, 8) * 10
    norms = per_example_norm(project(big, 1.5)).flatten()
    assert torch.all(norms <= 1.5 + 1e-5)
    small = big * 1e-3
    assert torch.equal(project(small, 1.5), small)  # inside the ball: unchanged


def test_perturbation_hook_adds_delta_only_while_active(tiny_bert_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2).eval()
    ids = torch.tensor([[2, 60, 61, 3]])
    clean = model(input_ids=ids).logits
    perturbation = EmbeddingPerturbation(model.get_input_embeddings())
    with perturbation.active():
        perturbation.set(torch.randn(1, 4, model.config.hidden_size))  # not constant: LayerNorm
        assert not torch.allclose(model(input_ids=ids).logits, clean)
    assert torch.equal(model(input_ids=ids).logits, clean)


def batch(tokenizer):
    rows = [tokenizer(text) for text in ("john smith visited london", "the acme bank hired mary in paris")]
    inputs = DataCollatorWithPadding(tokenizer)(rows)
    inputs["labels"] = torch.tensor([0, 1])
    return inputs


def one_step(tiny_bert_dir, bert_tokenizer, tmp_path, **options):
    """Gradients of one training step and the trainer, from the same initial weights."""
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2)
    args = RecipeTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", seed=0)
    trainer = with_methods(RecipeTrainer)(model=model, args=args, **options)
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop, which this test skips
    embeddings = model.get_input_embeddings().weight.detach().clone()
    loss = trainer.training_step(model, batch(bert_tokenizer))
    gradients = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    assert torch.equal(model.get_input_embeddings().weight, embeddings)  # the step perturbs outputs only
    assert not model.get_input_embeddings()._forward_hooks  # the hook is gone after the step
    return trainer, gradients, loss


@pytest.mark.parametrize("method", ["fgm", "pgd", "freelb"])
def test_adversarial_step_changes_gradients_within_epsilon(tiny_bert_dir, bert_tokenizer, tmp_path, method):
    _, clean, clean_loss = one_step(tiny_bert_dir, bert_tokenizer, tmp_path / "none")
    trainer, attacked, loss = one_step(
        tiny_bert_dir, bert_tokenizer, tmp_path / method, adversarial=method, adv_epsilon=0.5, adv_alpha=0.2
    )
    name = "classifier.weight"
    assert not torch.allclose(attacked[name], clean[name])
    norms = trainer.last_perturbation_norms
    assert norms.shape == (2,) and torch.all(norms <= 0.5 + 1e-5)
    if method == "fgm":
        assert norms.tolist() == pytest.approx([0.5, 0.5], rel=1e-4)
    assert torch.isfinite(loss) and float(loss) != float(clean_loss)


def saved_weights(output) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(output / "model.safetensors"))


def test_ner_recipe_with_fgm_and_pgd_trains_other_weights(ner_recipe, tiny_bert_dir, tmp_path):
    outputs = {}
    for method in ("none", "fgm", "pgd"):
        outputs[method] = tmp_path / method
        ner_recipe(
            run_args(tiny_bert_dir, outputs[method], adversarial=method, max_steps=2, learning_rate=5e-2)
        )
        assert "test_f1" in json.loads((outputs[method] / "all_results.json").read_text())
    plain = saved_weights(outputs["none"])
    for method in ("fgm", "pgd"):
        weights = saved_weights(outputs[method])
        assert not torch.equal(weights["classifier.weight"], plain["classifier.weight"])


def test_lora_with_fgm_and_a_teacher(ner_recipe, tiny_bert_dir, tmp_path):
    teacher = tmp_path / "teacher"
    ner_recipe(run_args(tiny_bert_dir, teacher, max_steps=2))
    output = tmp_path / "lora-fgm"
    ner_recipe(
        run_args(
            tiny_bert_dir,
            output,
            peft_method="lora",
            lora_r=4,
            adversarial="fgm",
            teacher_model_name_or_path=str(teacher),
            max_steps=2,
        )
    )
    results = json.loads((output / "all_results.json").read_text())
    assert (output / "adapter_config.json").is_file() and results["trainable_params"] < results[
        "total_params"
    ]


@pytest.mark.parametrize("epsilon", ["0", "-1"])
def test_adversarial_without_a_positive_epsilon_is_refused(tiny_bert_dir, tmp_path, epsilon):
    line = recipe_cli_error(run_args(tiny_bert_dir, tmp_path / "out", adversarial="pgd", adv_epsilon=epsilon))
    assert line == f"--adversarial pgd needs --adv_epsilon above 0, not {float(epsilon)}"


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        ({"adversarial": "fgm", "adv_steps": 5}, "--adv_steps is for --adversarial pgd or freelb, not "),
        ({"adversarial": "fgm", "adv_alpha": 0.1}, "--adv_alpha is for --adversarial pgd or freelb, not "),
        ({"adv_epsilon": 0.5}, "--adv_epsilon is for --adversarial fgm, pgd or freelb, not "),
        ({"test_noise_rate": 0.3}, "--test_noise_rate is for --test_noise typos, case or drop_word: "),
    ],
    ids=["fgm-steps", "fgm-alpha", "none-epsilon", "rate-without-noise"],
)
def test_a_robustness_flag_the_method_would_ignore_is_refused(tiny_bert_dir, tmp_path, flags, line):
    ending = f"--adversarial {flags.get('adversarial', 'none')}" if "adv" in line else "give --test_noise"
    assert recipe_cli_error(run_args(tiny_bert_dir, tmp_path / "out", **flags)) == line + ending


@pytest.mark.parametrize(
    ("values", "explicit"),
    [
        ({"adversarial": "pgd", "adv_epsilon": 0.5, "adv_alpha": 0.1, "adv_steps": 2}, None),
        ({"adversarial": "freelb", "adv_steps": 2}, None),
        ({"adversarial": "fgm", "adv_epsilon": 0.5}, None),
        ({"test_noise": "typos", "test_noise_rate": 0.2}, None),
        ({"adversarial": "fgm"}, {"adversarial"}),  # the unused flags' defaults: nothing to refuse
    ],
)
def test_robustness_flags_that_the_method_uses_are_accepted(values, explicit):
    check_robustness_flags(RobustnessArguments(**values), set(values) if explicit is None else explicit)
