"""The catalogue of bad inputs (README, "Reliability"): every reader and the config files.

Each error case runs its recipe's `main` through `run_main`, as `python recipes/X.py` does, and checks the one
line it prints (`PATH:LINE: ...` where there is a line), exit code 2, no traceback, and that nothing was
written as if the run were complete. A few run as real processes too. Accepted inputs: test_accepted_inputs.
"""

import gzip
import runpy
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mossrl_hf.errors import USER_ERROR_EXIT_CODE, run_main
from tests.conftest import FIXTURES, REPO, write
from tests.test_cli import recipe_cli_error

SENTIMENT = (FIXTURES / "sentiment_train.csv").read_text()
CONLL = "Ann B-PER\nruns O\n"
NER_JSON = '{"tokens": ["Ann", "runs"], "ner_tags": ["B-PER", "O"]}\n'
PAIR = '{"chosen": "Q: hi A: hello", "rejected": "Q: hi A: go away"}\n'
TRUNCATED_GZIP = gzip.compress(("Ann B-PER\nruns O\n\n" * 200).encode())[:-9]  # no end, no checksum
DIRECTORY = object()  # in place of a file's content: make a directory of that name
MISSING = object()  # in place of a file's content: write nothing


@dataclass(frozen=True)
class Case:
    """`files`: flag -> (file name, content) given to the recipe; `message`: the line it prints, with
    `{flag}` standing for that file's path."""

    id: str
    files: dict
    message: str
    flags: tuple = field(default=())

    @property
    def recipe(self) -> str:
        """The recipe that reads the input, named by the case's prefix."""
        return RECIPE_OF_PREFIX.get(self.id.split("-")[0], "ner")


RECIPE_OF_PREFIX = {
    "csv": "classify",
    "tsv": "classify",
    "classify": "classify",
    "preference": "reward_model",
}


CASES = [
    # --- CoNLL column files --------------------------------------------------------------------------------
    Case(
        "conll-mixed-columns",
        {"train_file": ("t.txt", "Ann NNP B-PER\nruns VBZ\n")},
        "{train_file}:2: expected 3 columns (as on line 1), found 2: 'runs VBZ'",
    ),
    Case(
        "conll-tabs-then-spaces",
        {"train_file": ("t.txt", "Ann\tB-PER\nruns O\n")},
        "{train_file}:2: expected 2 columns (as on line 1), found 1: 'runs O'",
    ),
    Case(
        "conll-one-column",
        {"train_file": ("t.txt", "Ann\nruns\n")},
        "{train_file}:1: --tag_column -1 does not exist in a line of 1 column(s) (a word and a tag are "
        "needed): 'Ann'",
    ),
    Case(
        "conll-lower-case-prefix",
        {"train_file": ("t.txt", "-DOCSTART- O\n\nAnn b-per\nruns O\n")},
        "{train_file}:3: tag 'b-per' is neither 'O' nor PREFIX-TYPE with PREFIX in B, I, E, S (prefixes are "
        "upper case: write 'B-per')",
    ),
    Case(
        "conll-lower-case-o",
        {"train_file": ("t.txt", "Ann B-PER\nruns o\n")},
        "{train_file}:2: tag 'o' is neither 'O' nor PREFIX-TYPE with PREFIX in B, I, E, S (upper case: "
        "write 'O')",
    ),
    Case(
        "conll-malformed-tag",
        {"train_file": ("t.txt", "Ann B-PER\nruns 0\n")},
        "{train_file}:2: tag '0' is neither 'O' nor PREFIX-TYPE with PREFIX in B, I, E, S",
    ),
    Case(
        "conll-iob1-in-iob2",
        {"train_file": ("t.txt", "Ann B-PER\nLee I-PER\n\nin O\nOslo I-LOC\n")},
        "{train_file}:4: this file mixes tag schemes (IOB1, IOB2, BIOES): this sentence contradicts the "
        "scheme of the ones before it: 'O I-LOC'",
    ),
    Case(
        "conll-0-byte",
        {"train_file": ("t.txt", "")},
        "{train_file}:1: no sentences found (the file is empty or holds only -DOCSTART- lines)",
    ),
    Case(
        "conll-blank-lines-only",
        {"train_file": ("t.txt", "\n \n\t\n-DOCSTART- -X- O\n\n")},
        "{train_file}:1: no sentences found (the file is empty or holds only -DOCSTART- lines)",
    ),
    Case(
        "conll-directory",
        {"train_file": ("data", DIRECTORY)},
        "{train_file}: is a directory, not a file",
    ),
    Case("conll-missing", {"train_file": ("nope.txt", MISSING)}, "{train_file}: file not found"),
    Case(
        "conll-gzip-truncated",
        {"train_file": ("t.txt.gz", TRUNCATED_GZIP)},
        "{train_file}: truncated gzip file (it ends before its compressed data does)",
    ),
    Case(
        "conll-gzip-not-gzip",
        {"train_file": ("t.txt.gz", CONLL)},
        "{train_file}: not a valid gzip file (Not a gzipped file (b'An'))",
    ),
    Case(
        "conll-not-utf8",
        {"train_file": ("t.txt", "Ann B-PER\n\nM\xfcnchen B-LOC\n".encode("latin-1"))},
        "{train_file}:3: not UTF-8 text (byte b'\\xfc' at offset 12)",
    ),
    Case(
        "conll-tag-unseen-in-training",
        {"train_file": ("train.txt", CONLL), "validation_file": ("dev.txt", "Acme B-ORG\nfell O\n")},
        "{validation_file}:1: tag 'B-ORG' is not in the label set taken from the training data (O, B-PER)",
    ),
    # --- NER JSON / JSON Lines -----------------------------------------------------------------------------
    Case(
        "json-tokens-not-a-list",
        {"train_file": ("t.jsonl", NER_JSON + '{"tokens": "Ann runs", "ner_tags": ["B-PER", "O"]}\n')},
        "{train_file}:2: 'tokens' and 'ner_tags' must be lists",
    ),
    Case(
        "json-nested-word-lists",
        {"train_file": ("t.jsonl", '{"tokens": [["Ann"], ["runs"]], "ner_tags": ["B-PER", "O"]}\n')},
        "{train_file}:1: a word must be a string, found ['Ann']",
    ),
    Case(
        "json-nested-tag-lists",
        {"train_file": ("t.jsonl", '{"tokens": ["Ann", "runs"], "ner_tags": [["B-PER"], "O"]}\n')},
        "{train_file}:1: a tag must be a string or an int, found ['B-PER']",
    ),
    Case(
        "json-boolean-tag",
        {"train_file": ("t.jsonl", '{"tokens": ["Ann"], "ner_tags": [true]}\n')},
        "{train_file}:1: a tag must be a string or an int, found True",
    ),
    Case(
        "json-record-not-an-object",
        {"train_file": ("t.jsonl", NER_JSON + '["Ann", "B-PER"]\n')},
        "{train_file}:2: expected a JSON object, found ['Ann', 'B-PER']",
    ),
    Case(
        "json-array-of-arrays",
        {"train_file": ("t.json", '[\n  [{"tokens": ["Ann"], "ner_tags": ["B-PER"]}]\n]\n')},
        "{train_file}:2: expected a JSON object, found [{'tokens': ['Ann'], 'ner_tags': ['B-PER']}]",
    ),
    Case(
        "json-text-after-the-array",
        {"train_file": ("t.json", "[" + NER_JSON + "]\n[" + NER_JSON + "]\n")},
        "{train_file}:3: malformed JSON: text after the end of the array",
    ),
    Case(
        "json-malformed-line",
        {"train_file": ("t.jsonl", NER_JSON + '{"tokens": ["Ann"]\n')},
        "{train_file}:2: malformed JSON: Expecting ',' delimiter (column 19)",
    ),
    Case(
        "json-missing-key",
        {"train_file": ("t.jsonl", '{"words": ["Ann"], "ner_tags": ["B-PER"]}\n')},
        "{train_file}:1: missing key 'tokens' (keys: words, ner_tags)",
    ),
    # --- CSV / TSV -----------------------------------------------------------------------------------------
    Case(
        "csv-missing-column",
        {"train_file": ("t.csv", "txt,label\nfine,positive\n")},
        "{train_file}:2: missing column 'text' (has: txt, label)",
    ),
    Case(
        "csv-missing-field",
        {"train_file": ("t.csv", "text,label\nfine,positive\ndull film\n")},
        "{train_file}:3: expected 2 fields (as in the header), found 1: ['dull film']",
    ),
    Case(
        "csv-quote-never-closed",
        {"train_file": ("t.csv", 'text,label\nfine,positive\n"dull, negative\nok,positive\n')},
        "{train_file}:3: malformed CSV: a quoted field opened on this line is never closed",
    ),
    Case(
        "csv-text-after-closing-quote",
        {"train_file": ("t.csv", 'text,label\n"dull" film,negative\n')},
        "{train_file}:2: malformed CSV: ',' expected after '\"'",
    ),
    Case(
        "csv-empty-text",
        {"train_file": ("t.csv", "text,label\nfine,positive\n,negative\n")},
        "{train_file}:3: empty or non-text 'text': ''",
    ),
    Case(
        "csv-blank-text",
        {"train_file": ("t.csv", 'text,label\n"   ",negative\n')},
        "{train_file}:2: empty or non-text 'text': '   '",
    ),
    Case(
        "csv-empty-label",
        {"train_file": ("t.csv", "text,label\nfine,\n")},
        "{train_file}:2: missing or invalid label ''",
    ),
    Case(
        "csv-label-unseen-in-training",
        {"train_file": ("train.csv", SENTIMENT), "validation_file": ("dev.csv", "text,label\nmeh,neutral\n")},
        "{validation_file}:2: label 'neutral' is not in the label set taken from the training data "
        "(negative, positive)",
    ),
    Case(
        "csv-header-only",
        {"train_file": ("t.csv", "text,label\n")},
        "{train_file}:1: no examples found (the file is empty or holds only a header)",
    ),
    Case(
        "csv-0-byte",
        {"train_file": ("t.csv", "")},
        "{train_file}:1: empty file (a header row is needed)",
    ),
    Case(
        "csv-repeated-column",
        {"train_file": ("t.csv", "text,text,label\na,b,positive\n")},
        "{train_file}:1: the header repeats a column name: ['text', 'text', 'label']",
    ),
    Case(
        "tsv-missing-field",
        {"train_file": ("t.tsv", "sentence\tlabel\nfine\t1\ndull film\n")},
        "{train_file}:3: expected 2 fields (as in the header), found 1: ['dull film']",
        ("--text_column", "sentence"),
    ),
    Case(
        "classify-json-text-not-a-string",
        {"train_file": ("t.jsonl", '{"text": 5, "label": "positive"}\n')},
        "{train_file}:1: empty or non-text 'text': 5",
    ),
    Case(
        "classify-json-label-a-list",
        {"train_file": ("t.jsonl", '{"text": "fine", "label": ["positive"]}\n')},
        "{train_file}:1: a label must be a string or an int, found ['positive']",
    ),
    # --- preference pairs ----------------------------------------------------------------------------------
    Case(
        "preference-chosen-equals-rejected",
        {"train_file": ("p.jsonl", PAIR + '{"chosen": "same", "rejected": "same"}\n')},
        "{train_file}:2: chosen and rejected are the same text: 'same'",
    ),
    Case(
        "preference-missing-key",
        {"train_file": ("p.jsonl", PAIR + '{"chosen": "Q: hi A: hello"}\n')},
        "{train_file}:2: missing key 'rejected' (keys: chosen)",
    ),
    Case(
        "preference-text-not-a-string",
        {"train_file": ("p.jsonl", '{"chosen": ["hello"], "rejected": "go away"}\n')},
        "{train_file}:1: empty or non-text 'chosen': ['hello']",
    ),
    Case(
        "preference-record-not-an-object",
        {"train_file": ("p.jsonl", PAIR + '"just a text"\n')},
        "{train_file}:2: expected a JSON object, found 'just a text'",
    ),
    Case(
        "preference-margin-nan",
        {"train_file": ("p.jsonl", '{"chosen": "a b", "rejected": "a c", "margin": NaN}\n')},
        "{train_file}:1: 'margin' must be a finite number, found nan",
        ("--margin_column", "margin"),
    ),
    Case(
        "preference-0-byte",
        {"train_file": ("p.jsonl", "")},
        "{train_file}:1: no pairs found (the file is empty)",
    ),
    # --- YAML config files ---------------------------------------------------------------------------------
    Case(
        "yaml-key-given-twice",
        {"config": ("c.yaml", "learning_rate: 1.0e-4\nseed: 1\nlearning_rate: 2.0e-4\n")},
        "{config}:3: not valid YAML: 'learning_rate' is given twice (first on line 1)",
    ),
    Case(
        "yaml-unknown-key",
        {"config": ("c.yaml", "seed: 1\nlearning_rat: 1.0e-4\n")},
        "{config}:2: unknown option 'learning_rat' (did you mean 'learning_rate'?)",
    ),
    Case(
        "yaml-number-expected",
        {"config": ("c.yaml", "num_train_epochs: three\n")},
        "{config}:1: 'num_train_epochs' must be a number, not 'three'",
    ),
    Case(
        "yaml-integer-expected",
        {"config": ("c.yaml", "max_seq_length: 1.5\n")},
        "{config}:1: 'max_seq_length' must be an integer, not 1.5",
    ),
    Case(
        "yaml-boolean-expected",
        {"config": ("c.yaml", "use_lora: maybe\n")},
        "{config}:1: 'use_lora' must be true or false, not 'maybe'",
    ),
    Case(
        "yaml-unquoted-no",
        {"config": ("c.yaml", "save_strategy: no\n")},
        "{config}:1: 'save_strategy' must be one of no, steps, epoch, best (quote it: YAML reads unquoted "
        "no/yes/off/on as booleans), not False",
    ),
    Case(
        "yaml-list-expected",
        {"config": ("c.yaml", "label_names: O\n")},
        "{config}:1: 'label_names' must be a list, as in [a, b], not 'O'",
    ),
    Case(
        "yaml-string-expected",
        {"config": ("c.yaml", "tokens_column: [a, b]\n")},
        "{config}:1: 'tokens_column' must be a string, not ['a', 'b']",
    ),
    Case(
        "yaml-null-for-a-number",
        {"config": ("c.yaml", "max_seq_length:\n")},
        "{config}:1: 'max_seq_length' needs a value, not null",
    ),
    Case(
        "yaml-not-a-mapping",
        {"config": ("c.yaml", "- seed\n- 1\n")},
        "{config}: expected a mapping of option names to values, found list",
    ),
    Case(
        "yaml-broken",
        {"config": ("c.yaml", "seed: 1\nlabel_names: [O,\n")},
        "{config}:3: not valid YAML: expected the node content, but found '<stream end>'",
    ),
]

RECIPES = ("ner", "classify", "reward_model")


@pytest.fixture(scope="module")
def recipe_mains() -> dict:
    return {
        name: runpy.run_path(str(REPO / "recipes" / f"{name}.py"), run_name=name)["main"] for name in RECIPES
    }


def arguments(case: Case, folder: Path, model_dir: str) -> tuple[list[str], str]:
    """The recipe's argv for `case` (its files written under `folder`) and the message it should print."""
    argv, paths = ["--model_name_or_path", model_dir, "--output_dir", str(folder / "out")], {}
    for flag, (name, content) in case.files.items():
        path = folder / name
        if content is DIRECTORY:
            path.mkdir()
        elif content is not MISSING:
            write(path, content)
        argv += [f"--{flag}", str(path)]
        paths[flag] = str(path)
    message = case.message
    for flag, path in paths.items():
        message = message.replace("{" + flag + "}", path)
    return argv + list(case.flags), message


def check_nothing_complete(output: Path) -> None:
    for name in ("all_results.json", "model.safetensors", "README.md", "test_predictions.conll"):
        assert not (output / name).exists(), name


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_stops_with_one_line(case, recipe_mains, tiny_bert_dir, tmp_path, capsys):
    argv, message = arguments(case, tmp_path, tiny_bert_dir)
    with pytest.raises(SystemExit) as exited:
        run_main(recipe_mains[case.recipe], argv)
    err = capsys.readouterr().err
    assert exited.value.code == USER_ERROR_EXIT_CODE
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == message
    check_nothing_complete(tmp_path / "out")


# One per recipe: a real process costs seconds (the config-file path is run as a process in test_cli).
SUBPROCESS_CASES = ["conll-gzip-truncated", "csv-quote-never-closed", "preference-missing-key"]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS_CASES], ids=lambda case: case.id)
def test_bad_input_as_users_run_it(case, tiny_bert_dir, tmp_path):
    """The same, in a real `python recipes/X.py` process: exit code 2, no traceback, the one line."""
    argv, message = arguments(case, tmp_path, tiny_bert_dir)
    assert recipe_cli_error(argv, recipe=case.recipe) == message
    check_nothing_complete(tmp_path / "out")


def test_the_catalogue_is_big_covers_every_recipe_and_is_in_the_readme():
    assert len(CASES) >= 30 and len({case.id for case in CASES}) == len(CASES)
    assert {case.recipe for case in CASES} == set(RECIPES)
    readme = (REPO / "README.md").read_text()
    assert [case.id for case in CASES if f"| `{case.id}` |" not in readme] == []
