"""Adversarial training as one `training_step` hook: the batch's loss, plus the loss of the same batch with
its word embeddings pushed a small step in the direction that hurts the model most.

The perturbation is added to the output of the model's input embedding module
(`model.get_input_embeddings()`, whatever its name), through a forward hook that lives only for the step;
padding positions are not perturbed. Every perturbation of one example has an L2 norm of at most epsilon.

- `fgm` (Miyato et al., 2017): delta = epsilon * g / ||g||, g the gradient of the clean loss; the clean and
  the perturbed loss both train (two forward and backward passes).
- `pgd` (Madry et al., 2018, as used for language models): `adv_steps` steps of length alpha from the clean
  gradient, each projected back into the epsilon ball; the clean loss and the last perturbed loss train
  (1 + adv_steps passes).
- `freelb` (Zhu et al., 2020): from a random start, `adv_steps` ascent steps whose losses (each divided by
  the number of steps) all train; no clean pass.

The task loss comes from `compute_loss`, so distillation and class weights apply to every pass.
"""

import contextlib

import torch

from .trainers import loss_scaled_for_accumulation


class EmbeddingPerturbation:
    """A forward hook on the input embedding module that adds `delta` (batch x length x hidden) to its
    output. `delta` is a leaf that requires grad, so after a backward pass `delta.grad` holds the loss's
    gradient with respect to the embeddings, frozen embedding weights (LoRA) included."""

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.delta: torch.Tensor | None = None

    def _hook(self, module, args, output):
        if self.delta is None:
            return output
        return output + self.delta.to(output.dtype)

    @contextlib.contextmanager
    def active(self):
        handle = self.module.register_forward_hook(self._hook)
        try:
            yield self
        finally:
            handle.remove()
            self.delta = None

    def set(self, delta: torch.Tensor) -> torch.Tensor:
        self.delta = delta.detach().requires_grad_(True)
        return self.delta


def per_example_norm(tensor: torch.Tensor) -> torch.Tensor:
    """L2 norm of each example's slice (batch x length x hidden -> batch x 1 x 1)."""
    return tensor.float().flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (tensor.dim() - 1))


def step(gradient: torch.Tensor, length: float) -> torch.Tensor:
    """A step of L2 length `length` per example along `gradient`."""
    return length * gradient.float() / per_example_norm(gradient)


def project(delta: torch.Tensor, epsilon: float) -> torch.Tensor:
    """`delta` scaled back, example by example, into the L2 ball of radius `epsilon`."""
    return delta * (epsilon / per_example_norm(delta)).clamp(max=1.0)


class AdversarialMixin:
    """Trainer mixin (`training.with_methods`); `adversarial="none"` leaves the step alone."""

    def __init__(self, *args, adversarial="none", adv_epsilon=1.0, adv_alpha=0.3, adv_steps=3, **kwargs):
        super().__init__(*args, **kwargs)
        self.adversarial = adversarial
        self.adv_epsilon, self.adv_alpha, self.adv_steps = adv_epsilon, adv_alpha, adv_steps
        self.last_perturbation_norms: torch.Tensor | None = None  # per example, of the last step (tests)

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.adversarial == "none":
            return super().training_step(model, inputs, num_items_in_batch)
        perturbation = EmbeddingPerturbation(self.accelerator.unwrap_model(model).get_input_embeddings())
        with perturbation.active():
            if self.adversarial == "freelb":
                return self._freelb(model, inputs, num_items_in_batch, perturbation)
            shape = self._embedding_shape(inputs)
            zero = perturbation.set(torch.zeros(shape, device=self.args.device))
            loss = super().training_step(model, inputs, num_items_in_batch)  # clean pass, trains
            if zero.grad is None:  # e.g. a batch without labels: nothing to attack
                return loss
            mask = self._mask(inputs, zero)
            first = self.adv_epsilon if self.adversarial == "fgm" else self.adv_alpha
            delta = project(step(zero.grad * mask, first), self.adv_epsilon)
            passes = 1 if self.adversarial == "fgm" else self.adv_steps
            for index in range(passes):
                last = index == passes - 1
                current = perturbation.set(delta)
                adversarial_loss = self._perturbed_pass(
                    model, inputs, num_items_in_batch, current, train=last
                )
                if not last:
                    delta = project(delta + step(current.grad * mask, self.adv_alpha), self.adv_epsilon)
            self.last_perturbation_norms = per_example_norm(delta).flatten().detach()
        return (loss + adversarial_loss) / 2

    def _freelb(self, model, inputs, num_items_in_batch, perturbation):
        shape = self._embedding_shape(inputs)
        mask = self._mask(inputs, torch.ones(shape, device=self.args.device))
        start = torch.empty(shape, device=self.args.device).uniform_(-1, 1) * mask
        delta = project(step(start, self.adv_alpha), self.adv_epsilon)
        total = 0.0
        for _ in range(self.adv_steps):
            current = perturbation.set(delta)
            scale = 1 / self.adv_steps
            total = total + self._perturbed_pass(model, inputs, num_items_in_batch, current, scale=scale)
            delta = project(delta + step(current.grad * mask, self.adv_alpha), self.adv_epsilon)
        self.last_perturbation_norms = per_example_norm(delta).flatten().detach()
        return total

    def _embedding_shape(self, inputs) -> tuple[int, ...]:
        ids = inputs["input_ids"]
        hidden = self.accelerator.unwrap_model(self.model).get_input_embeddings().embedding_dim
        return (*ids.shape, hidden)

    def _mask(self, inputs, like: torch.Tensor) -> torch.Tensor:
        mask = inputs.get("attention_mask")
        if mask is None:
            return torch.ones_like(like)
        return mask.to(like.device, torch.float32).unsqueeze(-1)

    def _perturbed_pass(
        self, model, inputs, num_items_in_batch, delta, train=True, scale=1.0
    ) -> torch.Tensor:
        """One forward and backward pass with the hook's delta, as Trainer's `training_step` makes them
        (same loss scaling for gradient accumulation). With `train=False` the model's gradients are left
        alone: only the perturbation's gradient is computed."""
        inputs = self._prepare_inputs(inputs)
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        if self.args.n_gpu > 1:
            loss = loss.mean()
        scaled = loss_scaled_for_accumulation(self, num_items_in_batch)
        if not scaled:
            loss = loss / self.current_gradient_accumulation_steps
        loss = loss * scale
        if train:
            self.accelerator.backward(loss)
        else:
            (delta.grad,) = torch.autograd.grad(loss, delta)
        return loss.detach()
