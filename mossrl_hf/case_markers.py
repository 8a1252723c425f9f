"""Case markers for uncased encoders: the tokenizer itself inserts a marker token before every word that
starts with a capital letter, so capitalisation (the main cue for names) reaches a lower-casing model.

The marker is added by the tokenizer's normalizer (a rule per capital letter), before lower-casing, and is
an added token matched on the normalized text. Because it lives in `tokenizer.json`, every user of the saved
tokenizer replays it: the recipes' featurizers, the tagger, the reward function and `transformers.pipeline`.
The saved tokenizer is a generic `TokenizersBackend` (the BERT tokenizer class would rebuild its own
normalizer from its settings and drop the rules). For pre-split words the marker is the word's first
sub-token, so it is the position that carries the word's label.
"""

import copy
import string

from transformers import PreTrainedTokenizerFast

from .errors import ConfigError

CASE_MARKER = "\u21e7"  # ⇧: one character no BERT-style normalizer changes and no vocabulary holds


def has_case_markers(tokenizer) -> bool:
    return CASE_MARKER in tokenizer.get_added_vocab()


def is_uncased(tokenizer) -> bool:
    return tokenizer.tokenize("Word Paris") == tokenizer.tokenize("word paris")


def add_case_markers(tokenizer, name: str):
    """A copy of `tokenizer` (an uncased fast tokenizer) that marks capitalised words."""
    from tokenizers import AddedToken, Regex, normalizers

    if not is_uncased(tokenizer):
        raise ConfigError(
            f"--case_markers is for uncased (lower-casing) tokenizers; {name} keeps case already"
        )
    backend = copy.deepcopy(tokenizer.backend_tokenizer)
    # A capital letter not preceded by a letter opens a capitalised word: "Paris" and "USA" get one marker.
    rules = [
        normalizers.Replace(Regex(f"(?<![A-Za-z]){letter}"), CASE_MARKER + letter.lower())
        for letter in string.ascii_uppercase
    ]
    backend.normalizer = normalizers.Sequence([*rules, backend.normalizer] if backend.normalizer else rules)
    marked = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side,
        **tokenizer.special_tokens_map,
    )
    marked.add_tokens([AddedToken(CASE_MARKER, normalized=True)])
    return marked
