"""Parameter-efficient fine-tuning through peft (named so as not to shadow the `peft` package)."""

import logging

from .configs import LoraArguments

logger = logging.getLogger(__name__)


def apply_lora(model, args: LoraArguments, task_type: str):
    """Wrap `model` with LoRA adapters. `task_type` (e.g. "TOKEN_CLS") makes peft train and save the
    classification head alongside the adapters (its `modules_to_save`)."""
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType[task_type],
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=args.lora_target_modules,
    )
    model = get_peft_model(model, config)
    trainable, total = model.get_nb_trainable_parameters()
    logger.info("LoRA: %d of %d parameters trainable (%.2f%%)", trainable, total, 100 * trainable / total)
    return model
