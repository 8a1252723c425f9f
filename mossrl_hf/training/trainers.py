"""Trainer subclasses, each overriding one hook."""

import torch
from torch.utils.data import SequentialSampler
from transformers import Trainer


class InOrderEvalTrainer(Trainer):
    """Evaluates and predicts in dataset order, whatever the training sampler.

    With `train_sampling_strategy=group_by_length`, Trainer also length-groups (shuffles) evaluation
    batches. Recipes that map predictions back to input words (windows, sentences) need them in dataset
    order. In distributed runs accelerate shards in order and `gather_for_metrics` restores it.
    """

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None or self.args.world_size > 1:
            return None  # distributed: accelerate shards the plain (sequential) loader
        return SequentialSampler(eval_dataset)


class ClassWeightedTrainer(InOrderEvalTrainer):
    """Cross-entropy with a weight per class, for imbalanced data (plain Trainer loss without weights)."""

    def __init__(self, *args, class_weights: list[float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits
        weights = torch.tensor(self.class_weights, dtype=logits.dtype, device=logits.device)
        loss = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.size(-1)), labels.view(-1), weight=weights
        )
        return (loss, outputs) if return_outputs else loss
