"""Masked-LM domain pretraining (recipes/mlm.py): the domain's text cut into sequences (packed by default),
an encoder with a masked-LM head, and a validation set masked once, so that the starting model and the trained
one are scored on the same masked tokens."""

import logging

import datasets
from transformers import (
    AutoConfig,
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    default_data_collator,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

from ..data.conll import iter_conll
from ..data.plain_text import read_plain_texts
from ..errors import ConfigError, DataError
from ..modeling import default_model_path, load_weights
from .clm import with_perplexity

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("perplexity", "perplexity_before", "loss")
_MASKING_BATCH = 256


def read_texts(data_args, path: str) -> list[str]:
    """The texts of a file: lines or a JSON/CSV column, or the words of each CoNLL sentence (tags unused)."""
    if data_args.input_format == "text":
        return read_plain_texts(path, data_args.text_column)
    texts = [" ".join(sentence.words) for sentence in iter_conll(path)]
    if not texts:
        raise DataError(path, 1, "no sentences found (the file is empty or holds only document markers)")
    return texts


def load_masked_lm(model_args, whole_word_masking: bool):
    """The encoder with its masked-LM head (a new one where the checkpoint has none, e.g. the offline MiniLM,
    saved as a bare BertModel) and its tokenizer. A model type transformers has no masked-LM head for is
    refused, as is a tokenizer without a mask token."""
    path = model_args.model_name_or_path or default_model_path()
    options = {"revision": model_args.model_revision, "cache_dir": model_args.cache_dir}
    options["trust_remote_code"] = model_args.trust_remote_code
    config = AutoConfig.from_pretrained(path, **options)
    if config.model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        raise ConfigError(
            f"{path}: transformers has no masked-LM head for a {config.model_type} model; give an encoder "
            "(BERT, RoBERTa, ...)"
        )
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name_or_path or path, **options)
    if tokenizer.mask_token is None:
        raise ConfigError(f"{path}: the tokenizer has no mask token to hide words with")
    if whole_word_masking and not tokenizer.is_fast:
        raise ConfigError(f"{path}: --whole_word_masking needs a fast tokenizer (word offsets)")
    architectures = config.architectures or []
    has_head = any(name.endswith(("ForMaskedLM", "ForPreTraining")) for name in architectures)
    if not has_head:
        logger.warning(
            "%s (%s) has no masked-LM head: a new one starts from random weights (the output layer is tied "
            "to the word embeddings), so eval_perplexity_before is that of an untrained head",
            path,
            ", ".join(architectures) or config.model_type,
        )
    model = load_weights(AutoModelForMaskedLM, path, model_args.allow_pickle_weights, not has_head, **options)
    return model, tokenizer


def sequences(texts: list[str], tokenizer, max_length: int, pack: bool, offsets: bool) -> datasets.Dataset:
    """Sequences of exactly `max_length` tokens, `[CLS] ... [SEP]` padded at the end, holding every token of
    every text. Packed, the texts are joined (each ending with the separator) and the stream is cut into full
    sequences; else each text starts its own (a long one continues in the next). `offsets`: each token's
    character span, as whole-word masking reads word boundaries from them."""
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=offsets)
    body = max_length - 2
    pieces: list[list[tuple[int, tuple[int, int], int]]] = []  # (token, span, special) per sequence
    stream: list[tuple[int, tuple[int, int], int]] = []
    for index, ids in enumerate(encoded["input_ids"]):
        spans = encoded["offset_mapping"][index] if offsets else [(0, 0)] * len(ids)
        tokens = [(token, tuple(span), 0) for token, span in zip(ids, spans, strict=True)]
        if pack:
            stream += tokens + [(tokenizer.sep_token_id, (0, 0), 1)]
        else:
            pieces += [tokens[i : i + body] for i in range(0, max(len(tokens), 1), body)]
    if pack:
        pieces = [stream[i : i + body] for i in range(0, len(stream), body)]
    rows: dict[str, list] = {"input_ids": [], "attention_mask": [], "special_tokens_mask": []}
    if offsets:
        rows["offset_mapping"] = []
    for piece in pieces:
        padding = body - len(piece)
        ends = [(tokenizer.cls_token_id, (0, 0), 1)], [(tokenizer.sep_token_id, (0, 0), 1)]
        full = ends[0] + piece + ends[1] + [(tokenizer.pad_token_id, (0, 0), 1)] * padding
        rows["input_ids"].append([token for token, _, _ in full])
        rows["special_tokens_mask"].append([special for _, _, special in full])
        rows["attention_mask"].append([1] * (len(piece) + 2) + [0] * padding)
        if offsets:
            rows["offset_mapping"].append([list(span) for _, span, _ in full])
    logger.info("%d texts, %d sequences of %d tokens", len(texts), len(pieces), max_length)
    return datasets.Dataset.from_dict(rows)


def masking_collator(tokenizer, data_args, seed: int) -> DataCollatorForLanguageModeling:
    """transformers' masking, seeded. Whole-word masking replaces every chosen word with [MASK] (the
    collator has no random-word replacement for it, and says so each time unless asked for exactly that)."""
    whole_words = (
        {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if data_args.whole_word_masking else {}
    )
    return DataCollatorForLanguageModeling(
        tokenizer,
        mlm_probability=data_args.mlm_probability,
        whole_word_mask=data_args.whole_word_masking,
        seed=seed,
        **whole_words,
    )


def mask_once(dataset: datasets.Dataset, masking: DataCollatorForLanguageModeling) -> datasets.Dataset:
    """The sequences masked once (the collator's seeded generator): inputs and labels fixed for every
    evaluation, before and after training."""
    columns: dict[str, list] = {"input_ids": [], "attention_mask": [], "labels": []}
    for start in range(0, len(dataset), _MASKING_BATCH):
        batch = masking([dataset[i] for i in range(start, min(start + _MASKING_BATCH, len(dataset)))])
        for name in columns:
            columns[name] += batch[name].tolist()
    return datasets.Dataset.from_dict(columns)


class MaskedLmBatches:
    """Training batches masked afresh each time; evaluation batches (masked once, with labels) as they are."""

    def __init__(self, masking: DataCollatorForLanguageModeling):
        self.masking = masking

    def __call__(self, features: list[dict]) -> dict:
        if "labels" in features[0]:
            return default_data_collator(features)
        return self.masking(features)


def before_figures(metrics: dict) -> dict:
    """The starting model's evaluation as `eval_loss_before` and `eval_perplexity_before`."""
    metrics = with_perplexity({"eval_loss": metrics["eval_loss"]})
    return {f"{key}_before": value for key, value in metrics.items()}


def card_fields(data_args) -> dict:
    masking = "whole words" if data_args.whole_word_masking else "tokens"
    detail = (
        f"Masked-LM training on unlabeled text: {data_args.mlm_probability:.0%} of the {masking} masked, "
        f"sequences of {data_args.max_seq_length} tokens{' (texts packed)' if data_args.pack_texts else ''}. "
        "Fine-tune it with recipes/ner.py or recipes/classify.py (--model_name_or_path DIR)."
    )
    return {"task": "masked_lm", "labels": [], "task_detail": detail}
