"""recipes/mlm.py: masked-LM domain pretraining on tiny models, and its output fine-tuned by ner.py."""

import json
import runpy
import subprocess
import sys

import pytest
import torch
from transformers import AutoTokenizer

from mossrl_hf.errors import ConfigError, DataError
from mossrl_hf.mlm_configs import MaskedLmDataArguments
from mossrl_hf.tasks import mlm
from tests.conftest import REPO, write
from tests.test_ner_recipe import run_args

TEXTS = ["john smith visited london on monday .", "the eu rejects german call to boycott british lamb ."]


@pytest.fixture(scope="module")
def mlm_main():
    return runpy.run_path(str(REPO / "recipes" / "mlm.py"), run_name="mlm_recipe")["main"]


def mlm_argv(model_dir: str, tmp_path, *extra: str) -> list[str]:
    train = write(tmp_path / "train.txt", "\n".join(TEXTS * 8) + "\n")
    return [
        "--model_name_or_path", model_dir, "--train_file", train, "--validation_file", train,
        "--output_dir", str(tmp_path / "out"), "--max_seq_length", "16", "--per_device_train_batch_size", "4",
        "--max_steps", "12", "--learning_rate", "5e-3", "--mlm_probability", "0.3", "--report_to", "none",
        "--eval_strategy", "no", "--disable_tqdm", "true", *extra,
    ]  # fmt: skip


def test_masked_lm_loss_falls_on_a_repeated_text_and_ner_takes_the_model(mlm_main, tiny_bert_dir, tmp_path):
    results = mlm_main(mlm_argv(tiny_bert_dir, tmp_path, "--whole_word_masking", "true"))
    assert results["eval_perplexity"] < results["eval_perplexity_before"] / 2
    saved = json.loads((tmp_path / "out" / "all_results.json").read_text())
    assert saved["eval_perplexity_before"] == results["eval_perplexity_before"]
    assert "pipeline_tag: fill-mask" in (tmp_path / "out" / "README.md").read_text()
    from transformers import pipeline

    filled = pipeline("fill-mask", model=str(tmp_path / "out"))("john smith visited [MASK] on monday .")
    assert len(filled) == 5
    # Fine-tuning starts from the trained encoder, its masked-LM head dropped without a warning flood.
    ner_argv = run_args(
        tiny_bert_dir, tmp_path / "ner", model_name_or_path=str(tmp_path / "out"), max_steps=1
    )
    completed = subprocess.run(
        [sys.executable, "recipes/ner.py", *ner_argv], cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "LOAD REPORT" not in completed.stderr and "cls.predictions" not in completed.stderr
    from safetensors.torch import load_file

    pretrained = load_file(tmp_path / "out" / "model.safetensors")
    start = load_file(f"{tiny_bert_dir}/model.safetensors")
    key = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(pretrained[key], start[key.removeprefix("bert.")])  # what ner.py started from


@pytest.mark.parametrize("pack", [True, False])
def test_sequences_hold_every_token_in_order(tiny_bert_dir, pack):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    texts = [*TEXTS, "peter", " ".join(["word"] * 30)]
    data = mlm.sequences(texts, tokenizer, 12, pack, offsets=True)
    assert all(len(ids) == 12 for ids in data["input_ids"])
    kept = [
        token
        for ids, special in zip(data["input_ids"], data["special_tokens_mask"], strict=True)
        for token, flag in zip(ids, special, strict=True)
        if not flag
    ]
    assert kept == [
        token for text in texts for token in tokenizer(text, add_special_tokens=False)["input_ids"]
    ]
    assert all(ids[0] == tokenizer.cls_token_id for ids in data["input_ids"])
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    if pack:  # full sequences but the last: the texts, each closed by a separator
        assert len(data) == -(-(sum(lengths) + len(texts)) // 10)
        assert all(sum(mask) == 12 for mask in data["attention_mask"][:-1])
    else:  # every text starts its own sequence; a long one goes on in the next ones
        assert len(data) == sum(-(-length // 10) for length in lengths)


def test_whole_word_masking_masks_every_piece_of_a_word_and_the_evaluation_is_masked_once(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    texts = ["unbelievably wonderful performances everywhere"] * 20
    data = mlm.sequences(texts, tokenizer, 32, True, offsets=True)
    arguments = MaskedLmDataArguments(train_file="x", whole_word_masking=True, mlm_probability=0.3)
    masked = mlm.mask_once(data, mlm.masking_collator(tokenizer, arguments, seed=3))
    assert (
        masked.to_dict() == mlm.mask_once(data, mlm.masking_collator(tokenizer, arguments, seed=3)).to_dict()
    )
    assert (
        masked.to_dict() != mlm.mask_once(data, mlm.masking_collator(tokenizer, arguments, seed=4)).to_dict()
    )
    masked_pieces = 0
    for labels, offsets in zip(masked["labels"], data["offset_mapping"], strict=True):
        word, words = -1, []
        for position, (start, end) in enumerate(offsets):
            if end == 0:
                words.append(None)
                continue
            if words[-1:] in ([], [None]) or offsets[position - 1][1] != start:
                word += 1
            words.append(word)
        for target in set(w for w in words if w is not None):
            chosen = [labels[p] != -100 for p, w in enumerate(words) if w == target]
            assert all(chosen) or not any(chosen)  # a word is masked whole or not at all
            masked_pieces += sum(chosen) * (len(chosen) > 1)
    assert masked_pieces > 0  # some multi-piece words were masked


def test_bad_inputs_stop_before_training(mlm_main, tiny_bert_dir, tmp_path):
    empty = write(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(DataError, match="empty.txt:1: no texts found"):
        mlm_main(mlm_argv(tiny_bert_dir, tmp_path, "--train_file", empty, "--validation_file", empty))
    with pytest.raises(ConfigError, match="--mlm_probability must be in \\(0, 1\\), not 1.5"):
        mlm_main(mlm_argv(tiny_bert_dir, tmp_path, "--mlm_probability", "1.5"))
    assert not (tmp_path / "out").exists()


def test_a_model_without_a_masked_lm_head_is_refused(mlm_main, tmp_path):
    from transformers import GPT2Config

    GPT2Config(n_layer=1, n_embd=8, n_head=2).save_pretrained(tmp_path / "gpt2")  # no weights are read
    with pytest.raises(ConfigError, match="transformers has no masked-LM head for a gpt2 model"):
        mlm_main(mlm_argv(str(tmp_path / "gpt2"), tmp_path))
    assert not (tmp_path / "out").exists()


def test_conll_words_are_the_text(tmp_path):
    conll = write(tmp_path / "a.conll", "-DOCSTART- O\n\nJohn B-PER\nleft O\n\nMary B-PER\n")
    arguments = MaskedLmDataArguments(train_file=conll, input_format="conll")
    assert mlm.read_texts(arguments, conll) == ["John left", "Mary"]
