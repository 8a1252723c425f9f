"""Knowledge distillation as one `compute_loss` hook: the task's own loss, mixed with how far the student's
softened predictions are from a fixed teacher's (Hinton et al., 2015).

    loss = (1 - alpha) * task loss + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

The KL term is taken per labelled position: per example for classification, per word for NER (the
positions whose label is not -100: the first piece of each word). The teacher runs in eval mode, without
gradients, under the same autocast as the student.
"""

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def soft_targets_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """T^2 * KL(teacher || student) of softened distributions, one value per row (rows x classes in)."""
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    return (teacher.exp() * (teacher - student)).sum(-1) * temperature**2


def labelled_rows(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Positions that carry a label, as rows x classes: every example of a classifier's (batch x classes)
    logits; the labelled tokens of a token classifier's (batch x length x classes)."""
    if logits.dim() == 2:
        return logits
    if labels is None:
        raise ValueError("token-level distillation needs the labels to find the positions of the words")
    return logits[labels != IGNORE_INDEX]


def distillation_loss(
    task_loss: torch.Tensor,
    student_logits: torch.Tensor,
    teacher_rows: torch.Tensor,
    labels: torch.Tensor | None,
    alpha: float,
    temperature: float,
    num_items: int | torch.Tensor | None = None,
    soft_scale: float = 1.0,
) -> torch.Tensor:
    """(1 - alpha) * task_loss + alpha * the soft loss, averaged over the labelled positions, or summed
    and divided by `num_items` (Trainer's count over the accumulated batch) when the task loss is too;
    `soft_scale` multiplies the soft loss as Trainer multiplied the task loss (processes)."""
    per_row = soft_targets_loss(labelled_rows(student_logits, labels), teacher_rows, temperature)
    soft = per_row.sum() / num_items if num_items is not None else per_row.mean()
    soft = soft * soft_scale
    return (1 - alpha) * task_loss + alpha * soft.to(task_loss.dtype)


class DistillationMixin:
    """Trainer mixin: put it before the task's Trainer class (`training.with_methods`) so that the task's
    own `compute_loss` (class weights, say) gives the hard loss. `teacher=None` leaves the loss alone.

    Teacher outputs of each training input are kept for later epochs when `cache_teacher_logits` (they
    do not change: the teacher is frozen in eval mode); the last batch's are always kept, for the extra
    forward passes of adversarial training.
    """

    def __init__(
        self,
        *args,
        teacher=None,
        distill_alpha=0.5,
        distill_temperature=2.0,
        cache_teacher_logits=True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.teacher = teacher
        self.distill_alpha, self.distill_temperature = distill_alpha, distill_temperature
        self.cache_teacher_logits = cache_teacher_logits
        self._teacher_cache: dict[bytes, torch.Tensor] = {}
        self._last_teacher: tuple[torch.Tensor, torch.Tensor] | None = None
        if teacher is not None:
            teacher.to(self.args.device).eval().requires_grad_(False)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.teacher is None or not model.training:  # evaluation loss: the task's alone, comparable
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.get("labels")
        teacher_rows = self.teacher_rows(inputs, labels)
        task_loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        scaled = self.model_accepts_loss_kwargs and num_items_in_batch is not None
        # Trainer multiplies a loss normalised by a count over all processes by their number: so here.
        processes = (
            self.accelerator.num_processes if scaled and self.args.average_tokens_across_devices else 1
        )
        loss = distillation_loss(
            task_loss,
            outputs.logits,
            teacher_rows,
            labels,
            self.distill_alpha,
            self.distill_temperature,
            num_items_in_batch if scaled else None,
            processes,
        )
        return (loss, outputs) if return_outputs else loss

    def teacher_rows(self, inputs, labels) -> torch.Tensor:
        """The teacher's logits at the labelled positions of this batch (cached or computed)."""
        ids = inputs["input_ids"]
        last = self._last_teacher
        if last is not None and last[0].shape == ids.shape and torch.equal(last[0], ids):
            return last[1]
        keys = self._row_keys(inputs, labels) if self.cache_teacher_logits else None
        if keys is not None and all(key in self._teacher_cache for key in keys):
            rows = torch.cat([self._teacher_cache[key] for key in keys])
        else:
            model_inputs = {key: value for key, value in inputs.items() if key != "labels"}
            with torch.no_grad(), self.accelerator.autocast():
                logits = self.teacher(**model_inputs).logits
            rows = labelled_rows(logits, labels).detach()
            if keys is not None:
                self._remember(keys, rows, logits, labels)
        self._last_teacher = (ids.clone(), rows)
        return rows

    @staticmethod
    def _row_keys(inputs, labels) -> list[bytes]:
        """One key per example: its real tokens and its labels (the same input always gets the same
        teacher output)."""
        ids, mask = inputs["input_ids"], inputs.get("attention_mask")
        keys = []
        for row in range(ids.size(0)):
            real = ids[row] if mask is None else ids[row][mask[row].bool()]
            key = real.cpu().numpy().tobytes()
            if labels is not None and labels.dim() == 2:
                key += b"|" + labels[row].cpu().numpy().tobytes()
            keys.append(key)
        return keys

    def _remember(self, keys, rows, logits, labels) -> None:
        if logits.dim() == 2:
            pieces = rows.split(1)
        else:
            counts = (labels != IGNORE_INDEX).sum(-1).tolist()
            pieces = rows.split(counts)
        for key, piece in zip(keys, pieces, strict=True):
            self._teacher_cache[key] = piece
