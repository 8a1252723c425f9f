"""Tag a corpus that outgrows one machine with Ray Data: the tagger is loaded once per worker (an actor) and
fed batches of sentences by `map_batches`; records come back in input order.

    pip install "ray[data]"
    python scripts/predict_with_ray.py --model outputs/ner --input 'corpus/*.txt' --output tagged/
    # on a cluster: ray start --head (then ray start --address HEAD:6379 on each machine), and
    python scripts/predict_with_ray.py --address auto --model /shared/ner --input s3://bucket/corpus/ ...

The input is plain text, one sentence a line (files, a folder or a glob: whatever `ray.data.read_text`
reads); the output is a folder of JSON Lines files with the same records `python -m mossrl_hf.predict`
writes. Without `--address`, Ray starts a local cluster on this machine.
"""

import argparse

import ray

from mossrl_hf.errors import run_main
from mossrl_hf.inference_backends import add_backend_arguments, check_backend
from mossrl_hf.modeling import add_autocast_argument
from mossrl_hf.predict import load_tagger


class TagBatch:
    """One per Ray worker: the model loads once, then tags every batch that worker receives."""

    def __init__(self, model: str, backend: str, quantize: str, autocast: str):
        self.tagger = load_tagger(model, backend=backend, quantize=quantize, autocast=autocast)

    def __call__(self, batch: dict) -> dict:
        records = self.tagger([line.split() for line in batch["text"]])
        return {key: [record[key] for record in records] for key in ("words", "tags", "entities")}


def tag_corpus(model: str, sources, output: str, workers: int, batch_size: int, tagger_options: dict) -> None:
    """`tagger_options`: `backend`, `quantize` and `autocast`, as `load_tagger` takes them."""
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output in input order, as the single-machine command
    lines = ray.data.read_text(sources)
    # A blank line has no words to tag: refuse it as the command does, rather than drop it silently.
    blank = lines.filter(lambda row: not row["text"].split()).take(1)
    if blank:
        raise SystemExit("the input holds an empty line: give one sentence per line")
    tagged = lines.map_batches(
        TagBatch,
        fn_constructor_kwargs={"model": model, **tagger_options},
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        # Leave a CPU to the tasks that read and write, or a small cluster full of actors waits forever.
        num_cpus=1,
    )
    tagged.write_json(output)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="Directory written by recipes/ner.py.")
    parser.add_argument("--input", required=True, nargs="+", help="Text files, folders or globs.")
    parser.add_argument("--output", required=True, help="Folder for the JSON Lines output files.")
    parser.add_argument("--address", default=None, help="A running Ray cluster (default: start a local one).")
    parser.add_argument(
        "--workers", type=int, default=1, help="Tagger actors, one CPU each: keep one CPU free (default 1)."
    )
    parser.add_argument("--batch_size", type=int, default=1000, help="Sentences per batch (default 1000).")
    add_backend_arguments(parser)
    add_autocast_argument(parser)
    args = parser.parse_args(argv)
    check_backend(args.backend, args.quantize, args.autocast)  # before any worker starts
    tagger_options = {"backend": args.backend, "quantize": args.quantize, "autocast": args.autocast}
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    try:
        tag_corpus(args.model, args.input, args.output, args.workers, args.batch_size, tagger_options)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    run_main(main)
