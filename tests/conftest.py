"""Shared fixtures: tiny random BERT and RoBERTa encoders with tokenizers built here, small data files.

Nothing is downloaded: models come from configs, tokenizers from vocabularies written by the fixtures.
"""

import json
import runpy
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent

WORDS = (
    "john smith visited london the acme bank hired mary german fans cheered in paris peter left for berlin "
    "joined french a an of and to said on at new york corp united states reuters city club"
).split()
CHARACTERS = list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-()/&")


def _bert_vocabulary() -> list[str]:
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHARACTERS, *pieces, *WORDS]


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """A 2-layer BERT (hidden 32) with random weights and a WordPiece tokenizer, saved like a Hub model."""
    from transformers import BertConfig, BertModel, BertTokenizer, set_seed

    directory = tmp_path_factory.mktemp("tiny-bert")
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(_bert_vocabulary()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(vocab_file), do_lower_case=True)
    set_seed(0)
    config = BertConfig(
        vocab_size=len(_bert_vocabulary()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_roberta_dir(tmp_path_factory) -> str:
    """A 2-layer RoBERTa with a byte-level BPE tokenizer trained here on a few sentences."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer, set_seed

    directory = tmp_path_factory.mktemp("tiny-roberta")
    bpe = ByteLevelBPETokenizer()
    corpus = [" ".join(WORDS), "John Smith visited London . The Acme Bank hired Mary ."] * 4
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=1, special_tokens=specials)
    bpe.save_model(str(directory))
    vocab = json.loads((directory / "vocab.json").read_text())
    merges = [tuple(line.split()) for line in (directory / "merges.txt").read_text().splitlines()[1:] if line]
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges, add_prefix_space=True)
    set_seed(0)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    RobertaModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def bert_tokenizer(tiny_bert_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert_dir)


@pytest.fixture
def ner_files() -> dict[str, str]:
    return {
        "train_file": str(FIXTURES / "ner_train.txt"),
        "validation_file": str(FIXTURES / "ner_test.txt"),
        "test_file": str(FIXTURES / "ner_test.txt"),
    }


@pytest.fixture(scope="session")
def ner_recipe():
    """recipes/ner.py's `main`, loaded as a script (recipes are not a package)."""
    return runpy.run_path(str(REPO / "recipes" / "ner.py"), run_name="ner_recipe")["main"]


@pytest.fixture(scope="session")
def classify_main():
    """recipes/classify.py's `main`, loaded as a script."""
    return runpy.run_path(str(REPO / "recipes" / "classify.py"), run_name="classify_recipe")["main"]


@pytest.fixture(scope="session")
def tagger_dir(ner_recipe, tiny_bert_dir, tmp_path_factory) -> str:
    """A tiny NER model trained by recipes/ner.py for the prediction tests (read only)."""
    from tests.test_ner_recipe import run_args

    output = tmp_path_factory.mktemp("prediction-tagger")
    ner_recipe(run_args(tiny_bert_dir, output, max_steps=4, learning_rate=5e-3))
    return str(output)


@pytest.fixture(scope="session")
def scorer_dir(classify_main, tiny_bert_dir, tmp_path_factory) -> str:
    """A tiny classifier trained by recipes/classify.py, for tests that score with it or start from it
    (read only)."""
    from tests.test_classification import classify_args

    output = tmp_path_factory.mktemp("prediction-scorer")
    classify_main(classify_args(tiny_bert_dir, output))
    return str(output)


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def recipe_error(recipe: str, model_dir: str, train_file: str, output_dir: Path) -> str:
    """Run a recipe as a script on bad training data; check it fails the way users should see, and return
    the one line it printed last."""
    import subprocess
    import sys

    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes" / f"{recipe}.py"),
            "--model_name_or_path",
            model_dir,
            "--train_file",
            train_file,
            "--output_dir",
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert not (output_dir / "all_results.json").exists()
    return completed.stderr.strip().splitlines()[-1]
