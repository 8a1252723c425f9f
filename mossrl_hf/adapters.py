"""Which weights train: peft adapters (LoRA, DoRA, IA3, prompt / prefix / P-tuning) or a subset of the
model's own weights (BitFit, freezing, a linear probe). Not named peft.py, so as not to shadow `peft`."""

import logging

import torch

from .errors import ConfigError
from .peft_configs import PEFT_METHODS, PROMPT_METHODS, PeftArguments

logger = logging.getLogger(__name__)

# What peft's models for each task type take. Prompt learning prepends virtual tokens: peft's token
# classifier returns logits for them too, which no longer line up with the word labels.
SUPPORTED_METHODS = {
    "TOKEN_CLS": tuple(method for method in PEFT_METHODS if method not in PROMPT_METHODS),
    "SEQ_CLS": PEFT_METHODS,
}
_TASK_NAMES = {"TOKEN_CLS": "token classification (ner.py)", "SEQ_CLS": "sequence classification"}


def check_method_supported(args: PeftArguments, task_type: str) -> None:
    """Refuse, before any work, a method peft cannot apply to this task type."""
    supported = SUPPORTED_METHODS[task_type]
    if args.peft_method not in supported:
        raise ConfigError(
            f"--peft_method {args.peft_method} does not work for {_TASK_NAMES[task_type]}; "
            f"it takes: {', '.join(supported)}"
        )


def encoder_layers(model) -> tuple[str, torch.nn.ModuleList]:
    """The stack of transformer layers (name, modules): the ModuleList as long as the config's depth."""
    depth = model.config.num_hidden_layers
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == depth:
            return name, module
    raise ConfigError(f"{type(model).__name__}: cannot find its {depth} encoder layers")


def head_parameter_names(model) -> list[str]:
    """Parameters outside the pretrained encoder (`base_model`): the task head, trained by every method."""
    encoder = {id(parameter) for parameter in model.base_model.parameters()}
    return [name for name, parameter in model.named_parameters() if id(parameter) not in encoder]


def _train_only(model, keep) -> None:
    for name, parameter in model.named_parameters():
        parameter.requires_grad = keep(name)


def apply_partial_training(model, args: PeftArguments):
    """BitFit, freezing or a linear probe: the model's own weights, some of them frozen."""
    head = set(head_parameter_names(model))
    if args.peft_method == "head_only":
        _train_only(model, lambda name: name in head)
    elif args.peft_method == "bitfit":
        _train_only(model, lambda name: name in head or name.endswith(".bias"))
    elif args.peft_method == "freeze":
        layers_name, layers = encoder_layers(model)
        count = len(layers) // 2 if args.freeze_layers is None else args.freeze_layers
        if count > len(layers):
            raise ConfigError(
                f"--freeze_layers {count} is past the model's depth: it has {len(layers)} layers"
            )
        frozen = [f"{layers_name}.{index}." for index in range(count)]
        embeddings = embeddings_prefix(model)
        _train_only(model, lambda name: not (name.startswith(embeddings) or name.startswith(tuple(frozen))))
        args.freeze_layers = count  # recorded in run_config.json and the card
    return model


def embeddings_prefix(model) -> str:
    """Name prefix of the embeddings module (word, position and type embeddings with their norm)."""
    words = model.get_input_embeddings()
    names = {id(module): name for name, module in model.named_modules()}
    word_name = names[id(words)]
    parent = word_name.rsplit(".", 1)[0] if "." in word_name else word_name
    return parent + "."


def peft_config(args: PeftArguments, task_type: str, model, tokenizer_path: str | None = None):
    """peft's configuration object for an adapter method."""
    import peft

    common = {"task_type": peft.TaskType[task_type]}
    method = args.peft_method
    if method in ("lora", "dora"):
        return peft.LoraConfig(
            **common,
            r=args.lora_r,
            lora_alpha=args.lora_alpha,
            lora_dropout=args.lora_dropout,
            target_modules=args.lora_target_modules,
            use_dora=method == "dora",
        )
    if method == "ia3":
        return peft.IA3Config(**common, target_modules=args.lora_target_modules)
    prompt = {**common, "num_virtual_tokens": args.num_virtual_tokens}
    if method == "prompt_tuning":
        if args.prompt_tuning_init_text:
            return peft.PromptTuningConfig(
                **prompt,
                prompt_tuning_init=peft.PromptTuningInit.TEXT,
                prompt_tuning_init_text=args.prompt_tuning_init_text,
                tokenizer_name_or_path=tokenizer_path,
            )
        return peft.PromptTuningConfig(**prompt)
    if method == "prefix_tuning":
        return peft.PrefixTuningConfig(**prompt)
    hidden = args.encoder_hidden_size or model.config.hidden_size
    return peft.PromptEncoderConfig(**prompt, encoder_hidden_size=hidden)


def apply_peft(model, args: PeftArguments, task_type: str, tokenizer_path: str | None = None):
    """The model ready for `args.peft_method`: wrapped by peft for adapter methods (with `task_type`, e.g.
    "TOKEN_CLS", so that peft trains and saves the head as well), partly frozen for the others."""
    check_method_supported(args, task_type)
    if args.peft_method == "none":
        return model
    if not args.is_peft_adapter:
        model = apply_partial_training(model, args)
    else:
        from peft import get_peft_model

        try:
            model = get_peft_model(model, peft_config(args, task_type, model, tokenizer_path))
            _probe_forward(model)
        except ValueError as error:  # e.g. prefix tuning on a model without past key values
            first_line = str(error).strip().splitlines()[0]
            others = ", ".join(name for name in SUPPORTED_METHODS[task_type] if name != args.peft_method)
            raise ConfigError(
                f"--peft_method {args.peft_method}: {first_line} (methods for this task: {others})"
            ) from None
    trainable, total = count_parameters(model)
    logger.info(
        "%s: %d of %d parameters trainable (%.2f%%)",
        args.peft_method,
        trainable,
        total,
        100 * trainable / total,
    )
    return model


def _probe_forward(model) -> None:
    """One forward pass on a two-token input: peft checks some models (prefix tuning needs past key values)
    only there, and a run should stop before training rather than at its first step."""
    ids = torch.ones((1, 2), dtype=torch.long)
    was_training = model.training
    with torch.no_grad():
        model.eval()(input_ids=ids, attention_mask=torch.ones_like(ids))
    model.train(was_training)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameters; for a peft model, total counts the frozen base and the adapter."""
    if hasattr(model, "get_nb_trainable_parameters"):
        return model.get_nb_trainable_parameters()
    parameters = list(model.parameters())
    return sum(p.numel() for p in parameters if p.requires_grad), sum(p.numel() for p in parameters)


def apply_lora(model, args: PeftArguments, task_type: str):
    """LoRA alone (the interface of earlier versions): `apply_peft` with `lora`."""
    args.peft_method = "lora"
    return apply_peft(model, args, task_type)
