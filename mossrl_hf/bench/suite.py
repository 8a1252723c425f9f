"""Suite files: which runs a benchmark makes, with which data, model, method, hyperparameters and seeds.

A suite is YAML (see `suites/quick.yaml`):

    name: quick
    description: what it measures
    defaults: {learning_rate: 5.0e-5, ...}     # recipe flags shared by every recipe entry
    entries:
      - name: ner-reference                     # letters, digits, `.`, `_`, `-`
        recipe: ner                             # recipes/<recipe>.py
        reference: true                         # the arm the others are compared with
        method: reference                       # label in tables (default: reference / optimized)
        args: {train_file: "{data_dir}/conll2003/train.txt", ...}   # flags; `{data_dir}` is replaced
        seeds: [42, 43]                         # optional: one run per seed (sets --seed)
        metric: test_f1                         # optional: the figure compared (default per recipe)
        compare_to: ner-reference               # optional: needed only with several references
        targets: {real_tokens_per_second: ">= 2"}   # optional: checked against the ratios
        timeout: 1800                           # optional: seconds before the run is stopped
      - name: ner-predict-speed
        kind: predict_speed                     # mossrl_hf.bench.predict_speed, not a recipe
        model_from: ner-reference               # the NER entry whose saved model it times
        args: {test_file: "{data_dir}/conll2003/test.txt"}
      - name: ner-distilled
        recipe: ner
        teacher_from: ner-reference             # an earlier entry of the same recipe: its saved model is
                                                # --teacher_model_name_or_path
      - name: ner-student-from-teacher
        recipe: ner
        model_from: ner-reference               # an earlier entry of the same recipe: its saved model is
                                                # --model_name_or_path (over `--model`): a student cut from it

Flags in `args` override `defaults`; `--model` and `--extra` on the command line override both.
"""

import copy
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..cli import load_yaml_config
from ..errors import ConfigError
from . import SUITES_DIR

RECIPES = ("ner", "classify", "reward_model")
RECIPE_KIND, PREDICT_SPEED_KIND = "recipe", "predict_speed"
DEFAULT_METRIC = {"ner": "test_f1", "classify": "test_accuracy", "reward_model": "test_accuracy"}
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_TOP_KEYS = {"name", "description", "defaults", "entries"}
_ENTRY_KEYS = {
    "name",
    "recipe",
    "kind",
    "reference",
    "method",
    "args",
    "seeds",
    "metric",
    "compare_to",
    "model_from",
    "teacher_from",
    "targets",
    "timeout",
    "description",
}
_HARNESS_OWNED = {"output_dir", "config"}  # the harness sets where each run writes; args are explicit
_TARGET = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")
_OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt}


@dataclass
class Entry:
    """One run of a suite, seeds already expanded (one Entry per seed)."""

    name: str
    kind: str
    recipe: str | None
    reference: bool
    method: str
    args: dict[str, Any]
    seed: int | None = None
    base_name: str = ""
    metric: str | None = None
    compare_to: str | None = None  # the reference entry's name, resolved after expansion
    model_from: str | None = None  # predict_speed: the model it times; a recipe: its starting model
    teacher_from: str | None = None  # an earlier entry whose saved model this one distils from
    targets: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    description: str = ""


@dataclass
class Suite:
    name: str
    description: str
    path: str
    entries: list[Entry]

    def entry(self, name: str) -> Entry:
        for entry in self.entries:
            if name in (entry.name, entry.base_name):
                return entry
        raise ConfigError(f"suite {self.name}: no entry {name!r} (entries: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]


def suite_path(suite: str) -> Path:
    """`quick`/`full` name a suite shipped in the package; anything else is a YAML file path."""
    shipped = SUITES_DIR / f"{suite}.yaml"
    if "/" not in suite and not suite.endswith((".yaml", ".yml")):
        if not shipped.is_file():
            known = ", ".join(sorted(path.stem for path in SUITES_DIR.glob("*.yaml")))
            raise ConfigError(f"--suite {suite}: no such shipped suite (shipped: {known}; or give a .yaml)")
        return shipped
    if not Path(suite).is_file():
        raise ConfigError(f"--suite {suite}: file not found")
    return Path(suite)


def substitute(value: Any, data_dir: str) -> Any:
    """Replace `{data_dir}` in strings, also inside lists (plain replace: other braces stay as written)."""
    if isinstance(value, str):
        return value.replace("{data_dir}", data_dir)
    if isinstance(value, list):
        return [substitute(item, data_dir) for item in value]
    return value


def parse_seeds(text: str | None) -> list[int] | None:
    """`--seeds 42,43,44`: distinct integers, in order."""
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text}: expected comma-separated integers such as 42,43,44") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text}: expected distinct comma-separated integers such as 42,43,44")
    return seeds


def parse_extra(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` overrides from the command line; values read as YAML scalars (`3`, `true`, `1e-4`)."""
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--extra {pair}: expected KEY=VALUE")
        extra[key.lstrip("-")] = yaml.safe_load(value) if value else ""
    return extra


def target_met(wanted: Any, value: Any) -> bool | None:
    """Whether `value` meets a target: `">= 2"`-style comparisons for numbers, equality otherwise; None
    when there is no value to judge."""
    if value is None:
        return None
    match = _TARGET.match(wanted) if isinstance(wanted, str) else None
    if match is None:
        return value == wanted
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return _OPERATORS[match.group(1)](value, float(match.group(2)))


def _check_targets(targets: Any, where: str) -> dict[str, Any]:
    if not isinstance(targets, dict):
        raise ConfigError(f'{where}: `targets` must map a figure to a condition such as ">= 2"')
    for name, wanted in targets.items():
        if isinstance(wanted, str) and not _TARGET.match(wanted):
            raise ConfigError(f"{where}: target {name}: {wanted!r} is not OP NUMBER (>=, <=, ==, >, <)")
    return dict(targets)


def _check_keys(keys, allowed: set[str], where: str) -> None:
    unknown = sorted(set(keys) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _entry_kind(raw: dict[str, Any], where: str) -> tuple[str, str | None]:
    kind = raw.get("kind", RECIPE_KIND)
    if kind == PREDICT_SPEED_KIND:
        if "recipe" in raw or not raw.get("model_from"):
            raise ConfigError(f"{where}: a predict_speed entry takes `model_from`, not `recipe`")
        return kind, None
    if kind != RECIPE_KIND:
        raise ConfigError(f"{where}: kind must be {RECIPE_KIND} or {PREDICT_SPEED_KIND}, not {kind!r}")
    if raw.get("recipe") not in RECIPES:
        raise ConfigError(f"{where}: recipe must be one of {', '.join(RECIPES)}, not {raw.get('recipe')!r}")
    return kind, raw["recipe"]


def _default_method(kind: str, reference: bool) -> str:
    if kind == PREDICT_SPEED_KIND:
        return "tagger vs pipeline"
    return "reference" if reference else "optimized"


def _expand(raw: dict[str, Any], defaults: dict[str, Any], where: str) -> list[Entry]:
    """One Entry per seed, with the defaults merged under the entry's own args."""
    _check_keys(raw, _ENTRY_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: `name` must be letters, digits, '.', '_' or '-', not {name!r}")
    kind, recipe = _entry_kind(raw, where)
    args = raw.get("args") or {}
    if not isinstance(args, dict):
        raise ConfigError(f"{where}: `args` must be a mapping of flags to values")
    owned = _HARNESS_OWNED & set(args)
    if owned:
        raise ConfigError(f"{where}: {', '.join(sorted(owned))} is set by the harness, not in a suite")
    merged = {**(defaults if kind == RECIPE_KIND else {}), **copy.deepcopy(args)}
    seeds = raw.get("seeds")
    if seeds is not None and (not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds)):
        raise ConfigError(f"{where}: `seeds` must be a list of integers")
    reference = bool(raw.get("reference", False))
    common = {
        "kind": kind,
        "recipe": recipe,
        "reference": reference,
        "method": str(raw.get("method") or _default_method(kind, reference)),
        "base_name": name,
        "metric": raw.get("metric") or DEFAULT_METRIC.get(recipe or ""),
        "compare_to": raw.get("compare_to"),
        "model_from": raw.get("model_from"),
        "teacher_from": raw.get("teacher_from"),
        "targets": _check_targets(raw.get("targets") or {}, where),
        "timeout": raw.get("timeout"),
        "description": str(raw.get("description") or ""),
    }
    if not seeds:
        return [Entry(name=name, args=merged, seed=merged.get("seed"), **common)]
    return [
        Entry(
            name=f"{name}-seed{seed}" if len(seeds) > 1 else name,
            args={**merged, "seed": seed},
            seed=seed,
            **common,
        )
        for seed in seeds
    ]


def _partner(entry: Entry, wanted_base: str, candidates: list[Entry], first: bool = False) -> Entry | None:
    """Of the expanded entries named `wanted_base`, the one with the entry's seed, or the only one (or with
    `first`, the first of several)."""
    named = [other for other in candidates if other.base_name == wanted_base]
    same_seed = [other for other in named if other.seed == entry.seed]
    if same_seed:
        return same_seed[0]
    return named[0] if len(named) == 1 or (first and named) else None


def _link(entries: list[Entry], where: str) -> None:
    """Resolve each entry's reference (`compare_to`) and model (`model_from`) to expanded entry names."""
    for position, entry in enumerate(entries):
        earlier = entries[:position]
        if entry.kind == PREDICT_SPEED_KIND:
            # With several seeds, prediction speed times the first seed's model (speed does not depend on it).
            source = _partner(entry, entry.model_from, [e for e in earlier if e.recipe == "ner"], first=True)
            if source is None:
                raise ConfigError(
                    f"{where}: {entry.name}: model_from {entry.model_from!r} is not an earlier ner entry"
                )
            entry.model_from = source.name
            continue
        for key in ("teacher_from", "model_from"):
            if getattr(entry, key) is not None:
                source = _partner(
                    entry, getattr(entry, key), [e for e in earlier if e.recipe == entry.recipe]
                )
                if source is None:
                    raise ConfigError(
                        f"{where}: {entry.name}: {key} {getattr(entry, key)!r} is not an earlier "
                        f"{entry.recipe} entry"
                    )
                setattr(entry, key, source.name)
        if entry.reference:
            entry.compare_to = None
            continue
        references = [e for e in entries if e.reference and e.recipe == entry.recipe]
        if entry.compare_to is None:
            bases = sorted({e.base_name for e in references})
            if len(bases) > 1:
                raise ConfigError(f"{where}: {entry.name}: several {entry.recipe} references; set compare_to")
            entry.compare_to = bases[0] if bases else None
        if entry.compare_to is not None:
            partner = _partner(entry, entry.compare_to, [e for e in entries if e.reference])
            if partner is None:
                raise ConfigError(
                    f"{where}: {entry.name}: compare_to {entry.compare_to!r} is no reference entry"
                )
            entry.compare_to = partner.name


def load_suite(
    suite: str,
    data_dir: str,
    model: str | None = None,
    extra: dict[str, Any] | None = None,
    seeds: list[int] | None = None,
) -> Suite:
    """Read, check and expand a suite; `model` and `extra` override every recipe entry's flags, `seeds`
    every recipe entry's seeds (one run per seed)."""
    path = suite_path(suite)
    raw = load_yaml_config(str(path))
    where = str(path)
    _check_keys(raw, _TOP_KEYS, where)
    defaults = raw.get("defaults") or {}
    entries_raw = raw.get("entries")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise ConfigError(f"{where}: `entries` must be a non-empty list")
    entries = []
    for index, item in enumerate(entries_raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: entry {index + 1} must be a mapping")
        if seeds and item.get("kind", RECIPE_KIND) == RECIPE_KIND:
            item = {**item, "seeds": list(seeds)}
        entries += _expand(item, defaults, f"{where}: entry {item.get('name', index + 1)!r}")
    duplicates = sorted({e.name for e in entries if [x.name for x in entries].count(e.name) > 1})
    if duplicates:
        raise ConfigError(f"{where}: duplicate entry name(s): {', '.join(duplicates)}")
    _link(entries, where)
    overrides = {**({"model_name_or_path": model} if model else {}), **(extra or {})}
    for entry in entries:
        if entry.kind == RECIPE_KIND:
            entry.args.update(overrides)
            entry.seed = entry.args.get("seed", entry.seed)
        entry.args = {key: substitute(value, data_dir) for key, value in entry.args.items()}
    return Suite(str(raw.get("name") or path.stem), str(raw.get("description") or ""), str(path), entries)


def select(suite: Suite, only: list[str]) -> list[Entry]:
    """The named entries (a name with several seeds: all of them) plus the entries whose models they need,
    in suite order."""
    wanted = set()
    for name in only:
        chosen = [entry for entry in suite.entries if name in (entry.name, entry.base_name)] or [
            suite.entry(name)
        ]
        for entry in chosen:
            wanted.add(entry.name)
            wanted.update(name for name in (entry.model_from, entry.teacher_from) if name)
    return [entry for entry in suite.entries if entry.name in wanted]
