"""Small datasets shipped inside the package (synthetic, written for this project): the embedded default
that a recipe trains on when it is given no data at all."""

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

SAMPLE_ROOT = Path(__file__).resolve().parent / "sample"
_SPLIT_FILES = {
    "ner": {"train_file": "train.txt", "validation_file": "validation.txt", "test_file": "test.txt"},
    "sentiment": {"train_file": "train.csv", "validation_file": "validation.csv", "test_file": "test.csv"},
    "preference": {
        "train_file": "train.jsonl",
        "validation_file": "validation.jsonl",
        "test_file": "test.jsonl",
    },
}


def sample_files(name: str) -> dict[str, str]:
    """Data-argument names -> paths of the bundled sample `name` (ner, sentiment, preference)."""
    return {key: str(SAMPLE_ROOT / name / file) for key, file in _SPLIT_FILES[name].items()}


def use_sample_if_no_data(data_args, name: str) -> bool:
    """Point `data_args` at the bundled sample when no file and no dataset was given; say whether it did."""
    given = [key for key in (*_SPLIT_FILES[name], "dataset_name") if getattr(data_args, key, None)]
    if given:
        return False
    for key, path in sample_files(name).items():
        setattr(data_args, key, path)
    logger.warning("No data given: using the bundled %s sample in %s", name, SAMPLE_ROOT / name)
    return True
