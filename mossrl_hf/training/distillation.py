"""Knowledge distillation as one `compute_loss` hook: the task's own loss, mixed with how far the student's
softened predictions are from a fixed teacher's (Hinton et al., 2015).

    loss = (1 - alpha) * task loss + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

The KL term is taken per labelled position: per example for classification, per word for NER (the
positions whose label is not -100: the first piece of each word). The teacher runs in eval mode, without
gradients, under the same autocast as the student.

With `distill_hidden_weight` > 0 the student's layers also learn the teacher's hidden states (TinyBERT,
Jiao et al. 2020): weight * the mean over student layers m = 1..M of the mean squared difference between its
output and the output of teacher layer m * N // M (same relative depth), over real tokens, added as is
(like a regulariser: once per optimizer step under gradient accumulation).
"""

import torch
import torch.nn.functional as F

from .trainers import StepTerm

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


def hidden_states_loss(student_states, teacher_states, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the student's layers (embeddings excluded) of the mean squared difference, per real token
    and feature, between the layer's output and the teacher's at the same relative depth. Positions a
    prompt method put before the text (the student's extra leading tokens) are left out."""
    student_depth, teacher_depth = len(student_states) - 1, len(teacher_states) - 1
    total = 0.0
    for layer in range(1, student_depth + 1):
        teacher = teacher_states[layer * teacher_depth // student_depth].float()
        student = student_states[layer][:, -teacher.size(1) :].float()
        per_token = (student - teacher).pow(2).mean(-1)
        if attention_mask is None:
            total = total + per_token.mean()
        else:
            mask = attention_mask.to(per_token.dtype)
            total = total + (per_token * mask).sum() / mask.sum().clamp(min=1)
    return total / student_depth


class DistillationMixin:
    """Trainer mixin: put it before the task's Trainer class (`training.with_methods`) so that the task's
    own `compute_loss` (class weights, say) gives the hard loss. `teacher=None` leaves the loss alone.

    Teacher outputs of each training input are kept for later epochs when `cache_teacher_logits` (they
    do not change: the teacher is frozen in eval mode) and no hidden-state loss needs the teacher's layers;
    the last batch's are always kept, for the extra forward passes of adversarial training.
    """

    def __init__(
        self,
        *args,
        teacher=None,
        distill_alpha=0.5,
        distill_temperature=2.0,
        cache_teacher_logits=True,
        distill_hidden_weight=0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.teacher = teacher
        self.distill_alpha, self.distill_temperature = distill_alpha, distill_temperature
        self.distill_hidden_weight = distill_hidden_weight
        self.cache_teacher_logits = cache_teacher_logits and not distill_hidden_weight
        self._teacher_cache: dict[bytes, torch.Tensor] = {}
        self._last_teacher: tuple[torch.Tensor, torch.Tensor, tuple | None] | None = None
        self._hidden = StepTerm("distill_hidden_loss")
        if teacher is not None:
            teacher.to(self.args.device).eval().requires_grad_(False)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.teacher is None or not model.training:  # evaluation loss: the task's alone, comparable
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.get("labels")
        teacher_rows, teacher_states = self.teacher_outputs(inputs, labels)
        if teacher_states is not None:
            inputs = {**inputs, "output_hidden_states": True}
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
        if teacher_states is not None:
            hidden = hidden_states_loss(outputs.hidden_states, teacher_states, inputs.get("attention_mask"))
            term = self._hidden.add(self, self.distill_hidden_weight * hidden, num_items_in_batch)
            loss = loss + term.to(loss.dtype)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs, start_time=None):
        self._hidden.log_into(logs)
        return super().log(logs, start_time)

    def teacher_outputs(self, inputs, labels) -> tuple[torch.Tensor, tuple | None]:
        """The teacher's logits at the labelled positions of this batch (cached or computed), and its
        hidden states when the hidden-state loss needs them (else None)."""
        ids = inputs["input_ids"]
        last = self._last_teacher
        if last is not None and last[0].shape == ids.shape and torch.equal(last[0], ids):
            return last[1], last[2]
        keys = self._row_keys(inputs, labels) if self.cache_teacher_logits else None
        states = None
        if keys is not None and all(key in self._teacher_cache for key in keys):
            rows = torch.cat([self._teacher_cache[key] for key in keys])
        else:
            model_inputs = {key: value for key, value in inputs.items() if key != "labels"}
            if self.distill_hidden_weight:
                model_inputs["output_hidden_states"] = True
            with torch.no_grad(), self.accelerator.autocast():
                outputs = self.teacher(**model_inputs)
            rows = labelled_rows(outputs.logits, labels).detach()
            if self.distill_hidden_weight:
                states = tuple(state.detach() for state in outputs.hidden_states)
            if keys is not None:
                self._remember(keys, rows, outputs.logits, labels)
        self._last_teacher = (ids.clone(), rows, states)
        return rows, states

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
