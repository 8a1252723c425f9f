"""Trainer subclasses: the recipes' common Trainer and one hook more per task; helpers the training hooks
share."""

import contextlib

import torch
from torch.utils.data import SequentialSampler
from transformers import Trainer
from transformers.trainer_utils import TrainOutput

from ..modeling import AUTOCAST_CONFIG_KEY
from . import resuming
from .layerwise import apply_layerwise_decay
from .samplers import ShuffledLengthGroupedSampler, row_lengths


def loss_scaled_for_accumulation(trainer: Trainer, num_items_in_batch) -> bool:
    """Whether Trainer's `training_step` leaves a `compute_loss` value undivided by the gradient accumulation
    steps (it was normalised by the item count of the whole accumulated batch), decided as Trainer does."""
    if trainer.loss_is_scaled_for_ga is not None:
        return trainer.loss_is_scaled_for_ga
    return (trainer.model_accepts_loss_kwargs and num_items_in_batch is not None) or (
        trainer.compute_loss_func is not None
    )


class StepTerm:
    """A loss term a hook adds to `compute_loss`'s loss (a penalty, an extra distillation loss): counted once
    per optimizer step under gradient accumulation, and its mean since the last log line logged as `name`."""

    def __init__(self, name: str):
        self.name, self.total, self.count = name, 0.0, 0

    def add(self, trainer: Trainer, term: torch.Tensor, num_items_in_batch) -> torch.Tensor:
        """`term`, to be added to the loss: divided by the accumulation steps where Trainer will not."""
        self.total += float(term.detach())
        self.count += 1
        if loss_scaled_for_accumulation(trainer, num_items_in_batch):
            term = term / trainer.current_gradient_accumulation_steps
        return term

    def log_into(self, logs: dict) -> None:
        if "loss" in logs and self.count:
            logs[self.name] = round(self.total / self.count, 6)
            self.total, self.count = 0.0, 0


@contextlib.contextmanager
def metrics_for_one_call(trainer: Trainer, compute_metrics):
    """`trainer.compute_metrics` set for one evaluate/predict call, then put back: training's own
    evaluations keep theirs."""
    kept, trainer.compute_metrics = trainer.compute_metrics, compute_metrics
    try:
        yield
    finally:
        trainer.compute_metrics = kept


class RecipeTrainer(Trainer):
    """The recipes' Trainer: evaluates in dataset order, counts training tokens, leaves the card alone.

    - `train_sampling_strategy=group_by_length` serves length-grouped batches in random order
      (`ShuffledLengthGroupedSampler`) rather than Trainer's long-to-short sweeps.
    - With `train_sampling_strategy=group_by_length`, Trainer also length-groups (shuffles) evaluation
      batches. Recipes that map predictions back to input words (windows, sentences) need them in dataset
      order. In distributed runs accelerate shards in order and `gather_for_metrics` restores it.
    - Real (non-padding) and padded token counts of the training batches make padding waste visible; they
      are summed over processes once, after training (`training_token_counts`).
    - The project writes its own model card to output_dir/README.md; Trainer's generic one must not
      replace it.
    - `--layerwise_lr_decay` gives lower layers smaller learning rates (the optimizer hook).
    - The model config records the autocast dtype evaluation runs under (`eval_autocast_dtype`), so that
      `mossrl_hf.predict` and `mossrl_hf.reward` reproduce the recipe's predictions.
    - A run resumed from a checkpoint ends as the same run never stopped (`mossrl_hf.training.resuming`):
      same batches, same logged losses, `train_loss` and token counts over the whole run.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._local_tokens = torch.zeros(2, dtype=torch.long)  # real, padded
        setattr(self.model.config, AUTOCAST_CONFIG_KEY, self.evaluation_autocast())
        self._restore_totals = resuming.RestoreRunningTotals(self)
        self.add_callback(self._restore_totals)
        self.add_callback(resuming.SamplerEpoch())
        self.add_callback(resuming.SaveAfterEpochEnd())

    def evaluation_autocast(self) -> str | None:
        """The dtype accelerate autocasts the forward pass to (None: float32 or a whole-model dtype)."""
        accelerator, args = self.accelerator, self.args
        if not accelerator.native_amp or args.bf16_full_eval or args.fp16_full_eval:
            return None
        return {"bf16": "bfloat16", "fp16": "float16"}.get(accelerator.mixed_precision)

    def create_optimizer(self, model=None):
        """Trainer's optimizer (any --optim), its parameter groups split by depth with
        --layerwise_lr_decay."""
        optimizer = super().create_optimizer(model)
        decay = getattr(self.args, "layerwise_lr_decay", None)
        if decay is not None and decay != 1.0 and not getattr(self, "_layerwise_applied", False):
            apply_layerwise_decay(
                optimizer, self.model if model is None else model, self.args.learning_rate, decay
            )
            self._layerwise_applied = True
        return optimizer

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        lengths = row_lengths(dataset) if self.args.train_sampling_strategy == "group_by_length" else None
        if lengths is None:
            return super()._get_train_sampler(train_dataset)
        group = self.args.train_batch_size * self.args.gradient_accumulation_steps
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed  # as Trainer's own
        return ShuffledLengthGroupedSampler(lengths, group, seed)

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None or self.args.world_size > 1:
            return None  # distributed: accelerate shards the plain (sequential) loader
        return SequentialSampler(eval_dataset)

    def train(self, resume_from_checkpoint=None, **kwargs):
        checkpoint = resume_from_checkpoint
        if checkpoint is True:  # Trainer's own pick would take a half-written checkpoint too
            checkpoint = resuming.last_complete_checkpoint(self.args.output_dir, self.args.world_size) or True
        self._restore_totals.checkpoint = checkpoint if isinstance(checkpoint, str) else None
        output = super().train(resume_from_checkpoint=checkpoint, **kwargs)
        loss = resuming.whole_run_loss(self)
        if self.state.log_history and "train_loss" in self.state.log_history[-1]:
            self.state.log_history[-1]["train_loss"] = loss  # Trainer logged its own figure
        return TrainOutput(output.global_step, loss, {**output.metrics, "train_loss": loss})

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        if self.state.global_step >= self.state.max_steps:
            # Only when resumed from the last checkpoint in the middle of an epoch: Trainer would train one
            # step past max_steps before checking. No batch, no step; the epoch ends as the first run's did.
            return [], None
        return super().get_batch_samples(epoch_iterator, num_batches, device)

    def _save_rng_state(self, output_dir):
        # Before the RNG file: that file being whole is what marks this process's part of a checkpoint done.
        resuming.save_running_totals(self, output_dir)
        super()._save_rng_state(output_dir)

    def training_step(self, model, inputs, num_items_in_batch=None):
        mask = inputs.get("attention_mask")
        if mask is not None:
            self._local_tokens[0] += int(mask.sum())
            self._local_tokens[1] += mask.numel()
        return super().training_step(model, inputs, num_items_in_batch)

    def training_token_counts(self) -> dict[str, int]:
        """Sub-word tokens of all training batches of all processes: without and with padding."""
        totals = self.accelerator.reduce(self._local_tokens.to(self.args.device), reduction="sum")
        real, padded = (int(value) for value in totals.cpu())
        return {"train_real_tokens": real, "train_padded_tokens": padded}

    def create_model_card(self, *args, **kwargs):
        pass  # mossrl_hf.model_card writes README.md; Trainer's generic card would overwrite it


class ClassWeightedTrainer(RecipeTrainer):
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


class PairwiseRewardTrainer(RecipeTrainer):
    """Ranking loss -log sigmoid(r_chosen - r_rejected - margin) over batches from `PairCollator`, with an
    optional penalty c * mean((r_chosen + r_rejected)^2) that keeps rewards centred near zero."""

    def __init__(self, *args, center_rewards_coefficient: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.center_rewards_coefficient = center_rewards_coefficient

    def _remove_unused_columns(self, dataset, description=None):
        return dataset  # the pair columns are not model inputs; PairCollator turns them into some

    def pair_rewards(self, model, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        rewards = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits[:, 0]
        chosen, rejected = rewards.chunk(2)
        return chosen, rejected

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        chosen, rejected = self.pair_rewards(model, inputs)
        loss = -torch.nn.functional.logsigmoid(chosen - rejected - inputs["margin"]).mean()
        if self.center_rewards_coefficient:
            loss = loss + self.center_rewards_coefficient * ((chosen + rejected) ** 2).mean()
        return (loss, torch.stack([chosen, rejected], dim=-1)) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, rewards = self.compute_loss(model, inputs, return_outputs=True)
        if prediction_loss_only:
            return loss.detach(), None, None
        # Trainer only computes metrics when there are labels: the "label" of every pair is its position 0.
        return loss.detach(), rewards.detach(), torch.zeros(rewards.size(0), device=rewards.device)
