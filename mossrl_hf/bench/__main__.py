"""Command line of the benchmark harness.

    python -m mossrl_hf.bench --suite quick [--output runs/bench-quick] [--data_dir ../shared/data]
    python -m mossrl_hf.bench --suite full --only ner-reference,ner-optimized
    python -m mossrl_hf.bench --suite my_suite.yaml --model path/to/model --extra num_train_epochs=1
    python -m mossrl_hf.bench --suite quick --check ner-reference     # exit 1 if two runs differ
    python -m mossrl_hf.bench --suite quick --only ner-reference,ner-optimized --seeds 42,43,44
    python -m mossrl_hf.bench --suite quick --list
    python -m mossrl_hf.bench --compare A/results.json B/results.json

Exit status: 0 when every entry finished (or the check found identical runs, or the comparison printed),
1 when an entry failed (its results are still written) or the check found a difference, 2 on a bad
command line or suite.
"""

import argparse
import logging
import shlex
import sys
from pathlib import Path

from ..cli import repository_root
from ..errors import ConfigError, run_main
from ..reporting import write_json
from .check import check_entry, check_text
from .compare import compare_text
from .harness import missing_files, run_suite, write_results
from .runner import Workspace, child_environment
from .suite import load_suite, parse_extra, parse_seeds, select, suite_path

logger = logging.getLogger("mossrl_hf.bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mossrl_hf.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--suite", default="quick", help="`quick` (the default), `full` (shipped) or a suite YAML file."
    )
    parser.add_argument("--output", default=None, help="Output folder. Default: runs/bench-<suite>.")
    parser.add_argument(
        "--data_dir",
        default=None,
        help="Replaces {data_dir} in the suite. Default: ../shared/data beside the checkout.",
    )
    parser.add_argument(
        "--only", default=None, help="Comma-separated entry names (and the entries they need)."
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="Comma-separated seeds, e.g. 42,43,44: every recipe entry runs once per seed; the report gives "
        "each arm's mean and std and a paired bootstrap of ours vs the reference.",
    )
    parser.add_argument("--model", default=None, help="model_name_or_path for every recipe entry.")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A recipe flag for every recipe entry.",
    )
    parser.add_argument(
        "--check", default=None, metavar="ENTRY", help="Run ENTRY twice and compare the runs."
    )
    parser.add_argument(
        "--compare", nargs=2, default=None, metavar=("A", "B"), help="Two results.json files."
    )
    parser.add_argument("--list", action="store_true", help="List the suite's entries and stop.")
    return parser


def find_repo_root() -> Path:
    """The checkout holding recipes/: the one this package sits in, else the one the command runs in."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        root = repository_root(start)
        if root is not None and (root / "recipes").is_dir():
            return root
    raise ConfigError(
        "recipes/ not found: run the benchmark from a checkout of mossrl_hf (the folder with pyproject.toml "
        "and recipes/), or install it in editable mode (pip install -e .)"
    )


def _data_dir(given: str | None, root: Path) -> str:
    data_dir = Path(given) if given else root.parent / "shared" / "data"
    if not data_dir.is_dir():
        raise ConfigError(f"--data_dir {data_dir}: no such folder")
    return str(data_dir.resolve())


def _model(given: str | None) -> str | None:
    """A model folder made absolute (the runs may start elsewhere); a Hub id as it is."""
    return str(Path(given).resolve()) if given and Path(given).exists() else given


def list_entries(suite) -> str:
    header = f"{'entry':<28} {'kind':<17} {'recipe / model of':<18} method"
    rows = [
        f"{e.name:<28} {e.kind + (' (ref.)' if e.reference else ''):<17} "
        f"{e.recipe or e.model_from or '':<18} {e.method}"
        for e in suite.entries
    ]
    return "\n".join([f"{suite.name}: {suite.description.strip()}", "", header, *rows])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    if args.compare:
        print(compare_text(*args.compare))
        return 0
    root = find_repo_root()
    data_dir = _data_dir(args.data_dir, root)
    suite = load_suite(
        args.suite, data_dir, _model(args.model), parse_extra(args.extra), parse_seeds(args.seeds)
    )
    if args.list:
        print(list_entries(suite))
        return 0
    label = Path(suite_path(args.suite)).stem
    output = Path(args.output or f"runs/bench-{label}").resolve()
    workspace = Workspace(root, output, child_environment(root))
    entries = select(suite, [name for name in args.only.split(",") if name]) if args.only else suite.entries
    if args.check:
        entries = [suite.entry(args.check)]
    missing = missing_files(entries)
    if missing:
        raise ConfigError("data files not found (see --data_dir): " + "; ".join(missing))
    if args.check:
        workspace.output = output / "check"
        result = check_entry(entries[0], workspace)
        write_json(workspace.output / "check.json", result)
        print(check_text(result))
        return 0 if result["identical"] else 1
    command = shlex.join(["python", "-m", "mossrl_hf.bench", *argv])
    results = run_suite(suite, entries, workspace, command, data_dir)
    print(write_results(results, output))
    logger.info("results in %s", output)
    return 0 if not results["summary"]["not_ok"] else 1


def entry_point() -> None:
    """Exit with main's status; user errors as one line, status 2 (the recipes' convention)."""
    status = 0

    def call(argv):
        nonlocal status
        status = main(argv)

    run_main(call)
    sys.exit(status)


if __name__ == "__main__":
    entry_point()
