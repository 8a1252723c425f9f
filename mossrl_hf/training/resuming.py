"""What a run killed after a checkpoint needs so that, resumed, it ends as if it had never stopped.

Trainer restores the weights, optimizer, scheduler, random states and step from a checkpoint, and skips the
batches of the current epoch already trained on. What it leaves out is kept here:

- the epoch of the length-grouped sampler: in a multi-process run it sits under accelerate's
  `BatchSamplerShard`, and once Trainer has wrapped the loader to skip batches, neither Trainer's nor
  accelerate's `set_epoch` reaches it, so a run resumed in epoch 2 would re-draw epoch 0's order
  (`SamplerEpoch`);
- the state of stateful callbacks (early stopping's patience count): Trainer restores it only when asked,
  so the recipes ask (`restore_callback_states_from_checkpoint` defaults to true in `recipe_defaults`);
- the running figures of the process: the loss summed since the last log and over the run (Trainer starts
  them at zero on resume, so the first logged loss and `train_loss` would cover only the resumed steps), the
  step last logged, and the recipes' token counts (`save_running_totals`, `RestoreRunningTotals`);
- the end of an epoch: a step checkpoint on an epoch's last step is saved before the epoch-end evaluation,
  and a run resumed from it starts the next epoch, so that evaluation never happens (its figures are missing
  from the history, and the random state drifts from the run never stopped): such a checkpoint waits for
  the end of the epoch (`SaveAfterEpochEnd`);
- which checkpoint is whole: a process killed while saving leaves a `checkpoint-N` folder that
  `get_last_checkpoint` would pick all the same (`last_complete_checkpoint`).

RecipeTrainer also stops a run resumed from its last checkpoint from training one step past `max_steps`.
"""

import json
import logging
import math
import zipfile
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..reporting import write_json

logger = logging.getLogger("mossrl_hf")

TRAINER_STATE = "trainer_state.json"  # written last, by the main process


def running_totals_name(process_index: int) -> str:
    return f"running_totals_{process_index}.json"


def save_running_totals(trainer, checkpoint: str | Path) -> None:
    """This process's running figures, into a checkpoint folder Trainer is writing."""
    totals = {
        "loss_since_log": float(trainer._tr_loss),
        "loss_logged": trainer._total_loss_scalar,
        "step_last_logged": trainer._globalstep_last_logged,
        "tokens": trainer._local_tokens.tolist(),
    }
    write_json(Path(checkpoint) / running_totals_name(trainer.args.process_index), totals)


class RestoreRunningTotals(TrainerCallback):
    """At the start of a resumed training, put back the running figures `save_running_totals` kept (Trainer
    has just set them to zero). A checkpoint without them (an older one) resumes with a warning."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.checkpoint: str | None = None  # set by RecipeTrainer.train

    def on_train_begin(self, args, state, control, **kwargs):
        if self.checkpoint is None:
            return
        # Trainer restores its control flags too (`restore_callback_states_from_checkpoint`), as they were
        # while the checkpoint was being saved: with nothing left to train, it would save it over again.
        control.should_save = control.should_evaluate = control.should_log = False
        path = Path(self.checkpoint) / running_totals_name(args.process_index)
        if not path.is_file():
            logger.warning("No %s: train_loss and token counts will cover the resumed steps only", path)
            return
        totals = json.loads(path.read_text(encoding="utf-8"))
        trainer = self.trainer
        trainer._tr_loss.fill_(totals["loss_since_log"])
        trainer._total_loss_scalar = totals["loss_logged"]
        trainer._globalstep_last_logged = totals["step_last_logged"]
        trainer._local_tokens.copy_(trainer._local_tokens.new_tensor(totals["tokens"]))


def whole_run_loss(trainer) -> float:
    """Mean training loss over every step of the run; Trainer's `train_loss` divides by the steps of this
    call only. The same division as Trainer's, so that a run never interrupted gets the same figure."""
    return trainer._total_loss_scalar / max(trainer.state.global_step, 0.001)


class SaveAfterEpochEnd(TrainerCallback):
    """Move a checkpoint due on the last step of an epoch to the end of that epoch, after its evaluation and
    logging (Trainer saves after evaluating at the same point). Trainer's own callbacks decide first."""

    def __init__(self):
        self.deferred = False

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save and float(state.epoch or 0).is_integer():
            control.should_save, self.deferred = False, True

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.deferred:
            control.should_save, self.deferred = True, False


class SamplerEpoch(TrainerCallback):
    """Tell every sampler of the training data loader which epoch begins (`floor(state.epoch)`: the epoch
    Trainer is entering, fresh or resumed), wherever accelerate has wrapped it."""

    def on_epoch_begin(self, args, state, control, train_dataloader=None, **kwargs):
        epoch = math.floor(state.epoch or 0)
        node = getattr(train_dataloader, "batch_sampler", None)
        while node is not None:
            sampler = getattr(node, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            node = getattr(node, "batch_sampler", None)


def checkpoint_is_complete(checkpoint: Path, world_size: int) -> bool:
    """Trainer writes a checkpoint file by file, `trainer_state.json` last from the main process, and each
    process its own RNG state with no barrier: whole means the state parses and every RNG file is whole."""
    try:
        json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = ["rng_state.pth"] if world_size <= 1 else [f"rng_state_{i}.pth" for i in range(world_size)]
    found = [name for name in expected if (checkpoint / name).is_file()]
    if not found:  # saved by another number of processes, or without RNG states (--save_only_model)
        found = [path.name for path in checkpoint.glob("rng_state*.pth")]
    elif len(found) < len(expected):
        return False  # a process was stopped before it saved its part
    # torch.save writes a zip archive, whose directory comes last: a cut-off file has none.
    return all(zipfile.is_zipfile(checkpoint / name) for name in found)


def last_complete_checkpoint(output_dir: str | Path, world_size: int) -> str | None:
    """The newest whole `checkpoint-N` in output_dir (None if there is none); incomplete ones are skipped
    with a warning."""
    output = Path(output_dir)
    if not output.is_dir():
        return None
    steps = {}
    for path in output.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        suffix = path.name[len(PREFIX_CHECKPOINT_DIR) + 1 :]
        if path.is_dir() and suffix.isdigit():
            steps[int(suffix)] = path
    for step in sorted(steps, reverse=True):
        if checkpoint_is_complete(steps[step], world_size):
            return str(steps[step])
        logger.warning("Skipping %s: incomplete (the run was stopped while saving it)", steps[step])
    return None
