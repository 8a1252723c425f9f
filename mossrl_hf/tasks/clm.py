"""Causal language modelling: texts packed into blocks, a new GPT-2-style model and its byte-level BPE
tokenizer (trained on the same text) when no model is given, perplexity."""

import logging
import math
import random
from pathlib import Path

import datasets
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
)

from ..data.plain_text import hold_out, read_plain_texts
from ..errors import ConfigError, DataError
from ..modeling import load_weights

logger = logging.getLogger(__name__)

EOS, PAD = "<|endoftext|>", "<|pad|>"
TOKENIZER_DIR = "bpe_tokenizer"
SUMMARY_KEYS = ("perplexity", "loss")
# Presets for a model trained from scratch. `small` learns fluent short sentences (SST-2) on 2 CPU cores in
# about ten minutes; `tiny` is for tests.
MODEL_PRESETS = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 32},
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 128},
    "base": {"n_layer": 12, "n_head": 12, "n_embd": 768},
}


def read_splits(data_args, seed: int, read_texts=None) -> dict[str, list[str]]:
    """Training and validation texts; without a validation file, a seeded share of the training texts.
    `read_texts(path)`: the texts of a file (default: plain text, or the JSON/CSV --text_column)."""
    if not data_args.train_file:
        raise ConfigError("--train_file is needed: plain text, one text a line (or a JSON/CSV column)")
    read_texts = read_texts or (lambda path: read_plain_texts(path, data_args.text_column))
    train = read_texts(data_args.train_file)
    if data_args.validation_file:
        validation = read_texts(data_args.validation_file)
    else:
        if len(train) < 2:
            raise DataError(data_args.train_file, None, "one text only: nothing to hold out for validation")
        train, validation = hold_out(train, data_args.validation_split_percentage, seed)
    if data_args.max_train_samples and data_args.max_train_samples < len(train):
        train = random.Random(seed).sample(train, data_args.max_train_samples)
    return {"train": train, "validation": validation}


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (GPT-2's scheme: any text encodes, no unknown token) trained on `texts`.
    Every encoded text starts with the end-of-text token, as each text follows one in the packed training
    stream, so a prompt looks like the start of a training text. Padding has its own token: the collator
    masks padding out of the loss, and the end-of-text token must be learnt."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    eos_id = bpe.token_to_id(EOS)
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{EOS} $A", pair=f"{EOS} $A {EOS} $B", special_tokens=[(EOS, eos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=PAD
    )


def parse_model_config(spec: str) -> dict:
    """'small,n_layer=6' -> the preset's GPT2Config values with n_layer replaced."""
    values: dict = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        if "=" not in part:
            if part not in MODEL_PRESETS:
                raise ConfigError(
                    f"--model_config: unknown preset {part!r} (presets: {', '.join(MODEL_PRESETS)})"
                )
            values |= MODEL_PRESETS[part]
            continue
        key, value = (piece.strip() for piece in part.split("=", 1))
        if not hasattr(GPT2Config(), key):
            raise ConfigError(f"--model_config: {key!r} is not a GPT2Config field")
        try:
            values[key] = float(value) if "." in value else int(value)
        except ValueError:
            raise ConfigError(f"--model_config: {key}={value} is not a number") from None
    return values or dict(MODEL_PRESETS["small"])


def new_model(spec: str, tokenizer, block_size: int) -> GPT2LMHeadModel:
    values = parse_model_config(spec)
    if values["n_embd"] % values["n_head"]:
        raise ConfigError(
            f"--model_config: n_embd ({values['n_embd']}) must be a multiple of n_head ({values['n_head']})"
        )
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max(block_size, values.pop("n_positions", block_size)),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **values,
    )
    model = GPT2LMHeadModel(config)
    logger.info("New GPT-2-style model: %s, %d parameters", values, model.num_parameters())
    return model


def trained_tokenizer(texts: list[str], vocab_size: int, training_args) -> PreTrainedTokenizerFast:
    """The tokenizer trained on `texts`, by the main process only and saved in output_dir/bpe_tokenizer,
    which the other processes load: every process must have the same vocabulary, and a resumed run the one
    its checkpoints were trained with."""
    directory = Path(training_args.output_dir) / TOKENIZER_DIR
    with training_args.main_process_first(desc="training the tokenizer"):
        if (directory / "tokenizer.json").is_file():
            return AutoTokenizer.from_pretrained(directory)
        tokenizer = train_tokenizer(texts, vocab_size)
        tokenizer.save_pretrained(directory)
    return tokenizer


def load_model_and_tokenizer(model_args, block_size: int, train_texts: list[str], training_args):
    """The model to train and its tokenizer: loaded, or built new with a tokenizer trained on the texts."""
    if model_args.model_name_or_path is None:
        if model_args.tokenizer_name_or_path:
            tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name_or_path)
        else:
            tokenizer = trained_tokenizer(train_texts, model_args.tokenizer_vocab_size, training_args)
        if tokenizer.eos_token is None:
            raise ConfigError(f"{model_args.tokenizer_name_or_path}: the tokenizer has no end-of-text token")
        return new_model(model_args.model_config, tokenizer, block_size), tokenizer
    path = model_args.model_name_or_path
    options = {"revision": model_args.model_revision, "cache_dir": model_args.cache_dir}
    options["trust_remote_code"] = model_args.trust_remote_code
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name_or_path or path, **options)
    check_causal_lm(path, options)
    model = load_weights(AutoModelForCausalLM, path, model_args.allow_pickle_weights, **options)
    if tokenizer.eos_token is None:
        raise ConfigError(f"{path}: the tokenizer has no end-of-text token to separate packed texts")
    if tokenizer.pad_token is None:
        tokenizer.add_special_tokens({"pad_token": PAD})
        model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def check_causal_lm(path: str, options: dict) -> None:
    """A model saved without a language-modelling head (an encoder, a classifier) would get a random one
    from AutoModelForCausalLM, with only a warning: refuse it."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    config = AutoConfig.from_pretrained(path, **options)
    architectures = config.architectures or []
    heads = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    if not any(name in heads or name.endswith(("ForCausalLM", "LMHeadModel")) for name in architectures):
        shown = ", ".join(architectures) or f"a bare {config.model_type} model"
        raise ConfigError(
            f"{path}: {shown} has no generation head; give a causal LM (an ...ForCausalLM or ...LMHeadModel, "
            "e.g. recipes/clm.py's output)"
        )


def pack(texts: list[str], tokenizer, block_size: int, split: str) -> datasets.Dataset:
    """Texts tokenized (each after an end-of-text token), joined and cut into blocks of `block_size`; the
    remainder shorter than a block is dropped."""
    encoded = tokenizer(texts, add_special_tokens=True)["input_ids"]
    start = [tokenizer.eos_token_id]
    stream = [token for ids in encoded for token in (ids if ids[:1] == start else start + ids)]
    blocks = [stream[i : i + block_size] for i in range(0, len(stream) - block_size + 1, block_size)]
    if not blocks:
        raise ConfigError(
            f"{split}: {len(stream)} tokens, fewer than one block of --block_size {block_size}: "
            "give more text or a smaller --block_size"
        )
    logger.info(
        "%s: %d texts, %d tokens, %d blocks of %d", split, len(texts), len(stream), len(blocks), block_size
    )
    return datasets.Dataset.from_dict({"input_ids": blocks})


def with_perplexity(metrics: dict, prefix: str = "eval") -> dict:
    loss = metrics.get(f"{prefix}_loss")
    if loss is not None:
        metrics[f"{prefix}_perplexity"] = math.exp(min(loss, 50.0))  # exp overflows past ~700; 50 is plenty
    return metrics


def card_fields(data_args, from_scratch: bool) -> dict:
    detail = f"Packed into blocks of {data_args.block_size} tokens."
    return {"task": "causal_lm", "labels": [], "task_detail": detail, "from_scratch": from_scratch}
