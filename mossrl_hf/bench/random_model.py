"""A randomly initialised BERT of a chosen size, saved with a tokenizer, for throughput benchmarks.

    python -m mossrl_hf.bench.random_model --output runs/bert-base-random          # BERT-base sized
    python -m mossrl_hf.bench --suite quick --model runs/bert-base-random --extra bf16=true

Random weights train exactly as fast as trained ones, so a model of any size can be benchmarked offline;
the metrics of such a run mean nothing. The tokenizer (default: the offline MiniLM's, the 30,522-piece
uncased BERT vocabulary) sets the vocabulary size.
"""

import argparse

import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from ..errors import run_main
from ..modeling import default_model_path

# (hidden size, layers, attention heads, feed-forward size)
_SHAPES = {"bert-base": (768, 12, 12, 3072), "bert-large": (1024, 24, 16, 4096), "minilm": (384, 6, 12, 1536)}
_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
SIZES = {name: dict(zip(_FIELDS, shape, strict=True)) for name, shape in _SHAPES.items()}


def build_random_model(
    output: str, size: str = "bert-base", tokenizer: str | None = None, seed: int = 0
) -> int:
    """Save a random BERT of `size` and the tokenizer to `output`; returns its parameter count."""
    loaded = AutoTokenizer.from_pretrained(tokenizer or default_model_path())
    config = BertConfig(vocab_size=len(loaded), max_position_embeddings=512, **SIZES[size])
    torch.manual_seed(seed)
    model = BertModel(config)
    model.save_pretrained(output)  # safetensors
    loaded.save_pretrained(output)
    return sum(parameter.numel() for parameter in model.parameters())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", required=True, help="Directory to write the model and tokenizer to.")
    parser.add_argument("--size", choices=sorted(SIZES), default="bert-base")
    parser.add_argument("--tokenizer", default=None, help="Tokenizer to save. Default: the offline MiniLM's.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    parameters = build_random_model(args.output, args.size, args.tokenizer, args.seed)
    print(f"{args.output}: random {args.size}, {parameters / 1e6:.1f}M parameters")


if __name__ == "__main__":
    run_main(main)
