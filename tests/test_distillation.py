"""Knowledge distillation on tiny models: the loss by hand, the student's layers, the teacher's checks, and
the recipes' runs (teacher, then a smaller student that learns from it and reloads with plain pipeline)."""

import json
import math

import pytest
import torch

from mossrl_hf.errors import ConfigError
from mossrl_hf.students import keep_layers, kept_layers
from mossrl_hf.training.distillation import distillation_loss, hidden_states_loss, soft_targets_loss
from tests.test_classification import classify_args
from tests.test_cli import recipe_cli_error
from tests.test_ner_recipe import run_args


@pytest.fixture(scope="module")
def ner_teacher(ner_recipe, tiny_bert_dir, tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("ner-teacher")
    ner_recipe(run_args(tiny_bert_dir, output, max_steps=4, learning_rate=5e-2))
    return str(output)


def softmax(values: list[float], temperature: float) -> list[float]:
    exps = [math.exp(value / temperature) for value in values]
    return [value / sum(exps) for value in exps]


def test_loss_by_hand_on_known_logits():
    student = [[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]]
    teacher = [[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    temperature, alpha, task = 2.0, 0.25, 0.7
    expected_rows = []
    for s_row, t_row in zip(student, teacher, strict=True):
        p, q = softmax(t_row, temperature), softmax(s_row, temperature)
        expected_rows.append(
            sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True)) * temperature**2
        )
    rows = soft_targets_loss(torch.tensor(student), torch.tensor(teacher), temperature)
    assert rows.tolist() == pytest.approx(expected_rows, rel=1e-5)
    loss = distillation_loss(
        torch.tensor(task), torch.tensor(student), torch.tensor(teacher), None, alpha, temperature
    )
    assert float(loss) == pytest.approx((1 - alpha) * task + alpha * sum(expected_rows) / 2, rel=1e-5)


def test_token_loss_uses_only_labelled_positions():
    student = torch.randn(2, 4, 3)
    labels = torch.tensor([[-100, 1, -100, 2], [0, -100, -100, -100]])
    teacher_rows = torch.randn(3, 3)  # one row per labelled position, in order
    loss = distillation_loss(torch.tensor(0.0), student, teacher_rows, labels, 1.0, 1.0)
    picked = torch.stack([student[0, 1], student[0, 3], student[1, 0]])
    assert float(loss) == pytest.approx(float(soft_targets_loss(picked, teacher_rows, 1.0).mean()), rel=1e-5)
    # Summed and divided by Trainer's count of labelled items when the task loss is normalised that way.
    summed = distillation_loss(torch.tensor(0.0), student, teacher_rows, labels, 1.0, 1.0, num_items=6)
    assert float(summed) == pytest.approx(
        float(soft_targets_loss(picked, teacher_rows, 1.0).sum()) / 6, rel=1e-5
    )


def test_hidden_states_loss_by_hand_at_the_same_relative_depth():
    torch.manual_seed(0)
    teacher = tuple(torch.randn(2, 3, 4) for _ in range(5))  # embeddings + 4 layers
    student = tuple(torch.randn(2, 3, 4) for _ in range(3))  # embeddings + 2 layers
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    expected = 0.0
    for layer, teacher_layer in ((1, 2), (2, 4)):  # student layer m of 2 <-> teacher layer 2m of 4
        squares = [
            ((student[layer][row, token] - teacher[teacher_layer][row, token]) ** 2).mean()
            for row in range(2)
            for token in range(3)
            if mask[row, token]
        ]
        expected += float(sum(squares)) / len(squares) / 2
    assert float(hidden_states_loss(student, teacher, mask)) == pytest.approx(expected, rel=1e-5)
    # A prompt method's virtual tokens come first in the student: only the text's positions compare.
    prompted = tuple(torch.cat([torch.randn(2, 5, 4), state], dim=1) for state in student)
    assert float(hidden_states_loss(prompted, teacher, mask)) == pytest.approx(expected, rel=1e-5)
    assert float(hidden_states_loss(teacher, teacher, mask)) == 0.0


def test_student_learns_the_teachers_hidden_states_with_lora(
    ner_recipe, tiny_bert_dir, ner_teacher, tmp_path
):
    output = tmp_path / "student"
    argv = run_args(
        tiny_bert_dir,
        output,
        teacher_model_name_or_path=ner_teacher,
        student_num_layers=1,
        distill_hidden_weight=10.0,
        use_lora=True,
        learning_rate=5e-2,
        max_steps=8,
        logging_steps=1,
    )
    ner_recipe(argv)
    history = json.loads((output / "trainer_state.json").read_text())["log_history"]
    hidden = [entry["distill_hidden_loss"] for entry in history if "distill_hidden_loss" in entry]
    assert len(hidden) == 8 and hidden[-1] < 0.8 * hidden[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"distill_hidden_weight": "-1"}, "--distill_hidden_weight must be 0 or above, not -1.0"),
        (
            {"distill_hidden_weight": "1"},
            "--distill_hidden_weight needs a teacher (--teacher_model_name_or_path)",
        ),
    ],
)
def test_hidden_state_options_are_checked(tiny_bert_dir, tmp_path, extra, message):
    assert recipe_cli_error(run_args(tiny_bert_dir, tmp_path / "out", **extra)) == message


def test_teacher_of_another_width_is_refused_for_hidden_states(
    ner_recipe, tiny_bert_dir, ner_teacher, tmp_path
):
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    config = AutoConfig.from_pretrained(ner_teacher)
    config.hidden_size, config.intermediate_size = 16, 32
    narrow = tmp_path / "narrow-teacher"
    AutoModelForTokenClassification.from_config(config).save_pretrained(narrow)
    AutoTokenizer.from_pretrained(ner_teacher).save_pretrained(narrow)
    argv = run_args(
        tiny_bert_dir, tmp_path / "out", teacher_model_name_or_path=str(narrow), distill_hidden_weight=1
    )
    with pytest.raises(ConfigError, match=f"teacher {narrow} has hidden size 16, the student 32"):
        ner_recipe(argv)
    assert not (tmp_path / "out" / "all_results.json").exists()


def test_student_layers_are_evenly_spaced_every_other_for_half():
    assert kept_layers(6, 3) == [0, 2, 4]
    assert kept_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    assert kept_layers(6, 6) == list(range(6))
    assert kept_layers(6, 1) == [0]
    for bad in (0, 7):
        with pytest.raises(ConfigError, match="between 1 and the base model's 6 layers"):
            kept_layers(6, bad)


def test_student_keeps_the_chosen_pretrained_layers_and_reloads(tmp_path):
    from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification

    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    original = [layer.attention.self.query.weight.clone() for layer in model.bert.encoder.layer]
    student = keep_layers(model, 2)
    assert student.config.num_hidden_layers == 2 and len(student.bert.encoder.layer) == 2
    assert torch.equal(student.bert.encoder.layer[1].attention.self.query.weight, original[2])
    ids = torch.tensor([[2, 7, 9, 3]])
    student.save_pretrained(tmp_path)
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(reloaded(input_ids=ids).logits, student(input_ids=ids).logits)


def test_ner_student_learns_from_teacher_and_loads_in_pipeline(
    ner_recipe, tiny_bert_dir, ner_teacher, tmp_path
):
    from transformers import pipeline

    output = tmp_path / "student"
    argv = run_args(
        tiny_bert_dir,
        output,
        teacher_model_name_or_path=ner_teacher,
        student_num_layers=1,
        distill_alpha=0.7,
        distill_temperature=3.0,
        max_steps=3,
    )
    ner_recipe(argv)
    results = json.loads((output / "all_results.json").read_text())
    assert results["total_params"] < results["teacher_total_params"]
    assert (
        results["student_predict_examples_per_second"] > 0
        and results["teacher_predict_examples_per_second"] > 0
    )
    assert results["student_predict_speedup"] > 0
    card = (output / "README.md").read_text()
    assert f"Distilled from a teacher of {results['teacher_total_params']:,} parameters; predicts x" in card
    assert json.loads((output / "config.json").read_text())["num_hidden_layers"] == 1
    tags = pipeline("token-classification", model=str(output))("john smith visited london")
    assert isinstance(tags, list)


def test_classification_student_with_class_weights_and_teacher(classify_main, tiny_bert_dir, tmp_path):
    teacher = tmp_path / "teacher"
    classify_main(classify_args(tiny_bert_dir, teacher))
    student = tmp_path / "student"
    classify_main(
        classify_args(
            tiny_bert_dir,
            student,
            teacher_model_name_or_path=str(teacher),
            student_num_layers=1,
            class_weights="auto",
        )
    )
    results = json.loads((student / "all_results.json").read_text())
    assert results["total_params"] < results["teacher_total_params"]
    assert "test_accuracy" in results


def test_teacher_outputs_are_cached_across_epochs(
    ner_recipe, tiny_bert_dir, ner_teacher, tmp_path, monkeypatch
):
    from mossrl_hf.training import distillation

    calls = []
    original = distillation.DistillationMixin.__init__

    def counting_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.teacher is not None:
            self.teacher.register_forward_hook(lambda *_: calls.append(1))

    monkeypatch.setattr(distillation.DistillationMixin, "__init__", counting_init)
    common = dict(
        teacher_model_name_or_path=ner_teacher,
        max_steps=-1,
        num_train_epochs=3,
        per_device_train_batch_size=4,
        do_train="true",
        do_eval="false",
        do_predict="false",
        eval_strategy="no",
    )
    ner_recipe(run_args(tiny_bert_dir, tmp_path / "cached", **common))
    cached = len(calls)
    calls.clear()
    ner_recipe(run_args(tiny_bert_dir, tmp_path / "fresh", distill_cache_teacher_logits="false", **common))
    assert cached > 0 and len(calls) == 3 * cached  # the teacher ran in the first epoch only
    first = json.loads((tmp_path / "cached" / "all_results.json").read_text())["train_loss"]
    again = json.loads((tmp_path / "fresh" / "all_results.json").read_text())["train_loss"]
    assert first == pytest.approx(again, rel=1e-4)


def test_teacher_with_other_labels_is_refused(classify_main, tiny_bert_dir, ner_teacher, tmp_path):
    line = recipe_cli_error(
        classify_args(tiny_bert_dir, tmp_path / "out", teacher_model_name_or_path=ner_teacher),
        recipe="classify",
    )
    assert line.startswith(f"--teacher_model_name_or_path {ner_teacher}: the teacher predicts [")
    assert "'B-PER'" in line and "['negative', 'positive']" in line


def test_teacher_with_other_vocabulary_is_refused(
    ner_recipe, tiny_bert_dir, tiny_roberta_dir, ner_teacher, tmp_path
):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    other = tmp_path / "other-vocab"
    AutoModelForTokenClassification.from_pretrained(ner_teacher).save_pretrained(other)
    AutoTokenizer.from_pretrained(tiny_roberta_dir).save_pretrained(other)
    with pytest.raises(
        ConfigError, match=r"another tokenizer vocabulary \(\d+ tokens against the student's \d+"
    ):
        ner_recipe(run_args(tiny_bert_dir, tmp_path / "out", teacher_model_name_or_path=str(other)))
    assert not (tmp_path / "out" / "all_results.json").exists()


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("0", "--student_num_layers must be at least 1, not 0"),
        ("3", "--student_num_layers must be between 1 and the base model's 2 layers, not 3"),
    ],
)
def test_student_layers_outside_the_base_depth_are_refused(tiny_bert_dir, tmp_path, layers, message):
    assert recipe_cli_error(run_args(tiny_bert_dir, tmp_path / "out", student_num_layers=layers)) == message
