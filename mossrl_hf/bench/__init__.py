"""The benchmark harness: runs a suite of recipe runs, each in its own process, and reports them.

    python -m mossrl_hf.bench --suite quick                 # ~8 minutes on 2 CPU cores
    python -m mossrl_hf.bench --suite full                  # full CoNLL-2003, 3 epochs (about an hour)
    python -m mossrl_hf.bench --suite quick --check ner-reference    # same seed twice: identical metrics?
    python -m mossrl_hf.bench --compare runs/a/results.json runs/b/results.json

Every suite holds reference entries (the recipe run the way the Hugging Face example scripts run it) and
optimized entries; each optimized entry is reported as ratios to its reference, measured in the same run.
"""

from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent / "suites"
