"""Trainer subclasses, each overriding one hook."""

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
