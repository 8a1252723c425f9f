"""Time the bootstrap intervals of NER test figures on a CoNLL file (the measurement in the README's
"Honest figures" section). Predictions are the gold tags with a share of words' tags replaced at random
(the time does not depend on the model).

    flock /work/bench.lock python scripts/time_bootstrap.py ../shared/data/conll2003/test.txt
"""

import argparse
import random
import time

from mossrl_hf.data.conll import read_conll
from mossrl_hf.metrics import bootstrap
from mossrl_hf.metrics.ner_metrics import ner_metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("test_file")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=0.05, help="share of words given a random tag")
    args = parser.parse_args()
    gold = read_conll(args.test_file).tags
    tags = sorted({tag for sentence in gold for tag in sentence})
    rng = random.Random(0)
    predicted = [
        [t if rng.random() > args.noise else rng.choice(tags) for t in sentence] for sentence in gold
    ]
    start = time.perf_counter()
    counts = bootstrap.ner_sentence_counts(gold, predicted, "IOB2")
    counted = time.perf_counter()
    intervals = bootstrap.intervals(counts, bootstrap.NER_STATISTICS, args.samples, 42)
    done = time.perf_counter()
    figures = ner_metrics(gold, predicted, "IOB2")
    print(
        f"{len(gold)} sentences, {args.samples} resamples: counts {counted - start:.2f} s, "
        f"resampling {done - counted:.2f} s, total {done - start:.2f} s"
    )
    for name, (low, high) in intervals.items():
        print(f"{name}: {figures[name]:.4f} [{low:.4f}, {high:.4f}]")


if __name__ == "__main__":
    main()
