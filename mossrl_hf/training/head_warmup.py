"""Head warm-up as one callback: the first optimizer steps train the task head alone, the model's body
(`base_model`: embeddings and encoder, with any adapter in it) frozen, then everything trains. A head that
starts from random weights (a new classifier, the masked-LM head the offline MiniLM lacks) sends large,
meaningless gradients into the pretrained encoder at first; training the head before the body avoids that
(linear probing then fine-tuning, Kumar et al. 2022).

The body is frozen after Trainer built its optimizer (`on_train_begin`), so the optimizer holds every weight
and frozen ones are simply left out of the first steps (no gradient: AdamW neither moves nor decays them).
A run resumed after the warm-up does not freeze again.
"""

import logging

from transformers import TrainerCallback

from ..errors import ConfigError

logger = logging.getLogger(__name__)


def model_body(model):
    """The model's body below its task head: `base_model` of the (PEFT-unwrapped) model."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = inner.base_model
    if body is inner:
        raise ConfigError(f"--head_warmup_steps: {type(inner).__name__} has no task head apart from its body")
    return body


class HeadWarmup(TrainerCallback):
    def __init__(self, steps: int):
        self.steps = steps
        self.frozen: list = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step >= self.steps:
            return
        self.frozen = [p for p in model_body(model).parameters() if p.requires_grad]
        for parameter in self.frozen:
            parameter.requires_grad_(False)
        logger.info("Head warm-up: %d body weights frozen for %d steps", len(self.frozen), self.steps)

    def on_step_end(self, args, state, control, **kwargs):
        if self.frozen and state.global_step >= self.steps:
            for parameter in self.frozen:
                parameter.requires_grad_(True)
            logger.info("Head warm-up over at step %d: every weight trains", state.global_step)
            self.frozen = []
