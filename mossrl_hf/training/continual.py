"""Continual learning's penalty as one `compute_loss` hook: the task's loss plus a term that keeps the
trained weights near where this run started, so that a model continued on new data keeps the old task.

    penalty = lambda / 2 * sum_i w_i * (theta_i - theta_start_i)^2

- `l2sp` (Li et al., 2018): w_i = 1.
- `ewc` (Kirkpatrick et al., 2017): w_i is the diagonal Fisher information of the starting model on the
  old task's data (mean squared per-example gradient of its loss), scaled to mean 1 so that one lambda
  means about as much for both.

Only the trainable weights are held (an adapter's, with PEFT), and of a grown head only the rows of the
labels the starting model had. The starting weights and the Fisher information are taken when training
starts (before a resumed run loads its checkpoint): they are the model the run was given.
"""

import logging
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from ..modeling import output_layer
from .trainers import StepTerm

logger = logging.getLogger(__name__)


@dataclass
class Anchor:
    """One held parameter: its starting value and, for EWC, the weight of each of its entries."""

    parameter: torch.nn.Parameter
    start: torch.Tensor
    importance: torch.Tensor | None = None  # None: 1 everywhere (L2-SP)
    rows: int | None = None  # hold only the first rows (a grown head's old labels)

    def current(self) -> torch.Tensor:
        return self.parameter if self.rows is None else self.parameter[: self.rows]


def penalty(anchors: list[Anchor], strength: float) -> torch.Tensor:
    """lambda / 2 * the (weighted) squared distance of the held weights from their start."""
    total = torch.zeros((), device=anchors[0].parameter.device) if anchors else torch.zeros(())
    for anchor in anchors:
        squared = (anchor.current().float() - anchor.start).pow(2)
        if anchor.importance is not None:
            squared = squared * anchor.importance
        total = total + squared.sum()
    return strength / 2 * total


def held_rows(model, old_label_count: int | None) -> dict[int, int]:
    """id(parameter) -> rows to hold, for the output layer of a head grown from `old_label_count` labels."""
    if not old_label_count or old_label_count >= model.config.num_labels:
        return {}
    _, _, layer = output_layer(model, model.config.num_labels)
    return {id(parameter): old_label_count for parameter in layer.parameters()}


def fisher_information(model, batches, anchors: list[Anchor]) -> list[torch.Tensor]:
    """Mean squared gradient of the loss, example by example, for each anchor's held entries, scaled so
    that their mean over all anchors is 1. The model is in eval mode (no dropout) while it is taken."""
    sums = [torch.zeros_like(anchor.start) for anchor in anchors]
    was_training, count = model.training, 0
    model.eval()
    for batch in batches:
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        for total, anchor in zip(sums, anchors, strict=True):
            gradient = anchor.parameter.grad
            if gradient is not None:
                total += (gradient if anchor.rows is None else gradient[: anchor.rows]).float().pow(2)
        count += 1
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    entries = sum(total.numel() for total in sums)
    mean = sum(float(total.sum()) for total in sums) / max(count, 1) / max(entries, 1)
    if mean == 0:
        raise ValueError("the Fisher information is zero everywhere: no gradient on the replay data")
    return [total / max(count, 1) / mean for total in sums]


class ContinualMixin:
    """Trainer mixin (`training.with_methods`); `continual_regularization="none"` leaves the loss alone.

    `fisher_dataset` (model inputs with labels: the old task's data) is needed for `ewc`; its first
    `fisher_samples` examples are used. `old_label_count`: the starting model's labels, when the run grew
    its head (the new rows are free). The penalty's mean over the logged steps is logged as
    `continual_penalty`.
    """

    def __init__(
        self,
        *args,
        continual_regularization="none",
        continual_lambda=1.0,
        fisher_dataset=None,
        fisher_samples=256,
        old_label_count=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.continual_regularization, self.continual_lambda = continual_regularization, continual_lambda
        self.fisher_dataset, self.fisher_samples = fisher_dataset, fisher_samples
        self.old_label_count = old_label_count
        self.anchors: list[Anchor] = []
        self._anchored_model = None
        self._penalty = StepTerm("continual_penalty")

    def train(self, *args, **kwargs):
        if self.continual_regularization != "none" and self._anchored_model is not self.model:
            self.anchor()  # again for each hyperparameter-search trial's new model
        return super().train(*args, **kwargs)

    def anchor(self) -> None:
        """Take the starting weights (and for EWC their Fisher information) of `self.model`."""
        model = self.model
        rows = held_rows(model, self.old_label_count)
        self.anchors = [
            Anchor(parameter, None, rows=rows.get(id(parameter)))
            for parameter in model.parameters()
            if parameter.requires_grad
        ]
        for anchor in self.anchors:
            anchor.start = anchor.current().detach().float().clone()
        if self.continual_regularization == "ewc":
            for anchor, importance in zip(
                self.anchors, fisher_information(model, self._fisher_batches(), self.anchors), strict=True
            ):
                anchor.importance = importance
        self._anchored_model = model
        held = sum(anchor.start.numel() for anchor in self.anchors)
        logger.info("%s: %d weights held near their start", self.continual_regularization, held)

    def _fisher_batches(self):
        dataset = self._remove_unused_columns(self.fisher_dataset, "Fisher information")
        dataset = dataset.select(range(min(self.fisher_samples, len(dataset))))
        loader = DataLoader(dataset, batch_size=1, collate_fn=self.data_collator)
        device = self.args.device
        for batch in loader:
            yield {key: value.to(device) for key, value in batch.items()}

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if not self.anchors or not model.training:  # evaluation loss: the task's alone, comparable
            return result
        loss, outputs = result if return_outputs else (result, None)
        term = self._penalty.add(self, penalty(self.anchors, self.continual_lambda), num_items_in_batch)
        loss = loss + term.to(loss.dtype)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs, start_time=None):
        self._penalty.log_into(logs)
        return super().log(logs, start_time)
