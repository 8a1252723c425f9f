"""Pushing a finished run to the Hugging Face Hub, after everything is saved locally.

Trainer would create the Hub repository when it is built and push on every save, so an offline machine or a
missing token fails the run before any training, or midway. The recipes take TrainingArguments' own flags
(`--push_to_hub`, `--hub_model_id`, `--hub_private_repo`, `--hub_token`, `--hub_revision`) but push once, at
the end, the finished output_dir (model, tokenizer, card, results, plots); a failed push leaves all of it on
disk and says so.
"""

import logging
from pathlib import Path

from transformers import TrainingArguments

from .errors import UserError

logger = logging.getLogger(__name__)

# Checkpoints and private files stay local, as with Trainer.push_to_hub; so do the run record files,
# which name local paths (data files, the checkout), and what a killed run left half-written (a temporary
# file, the model's staging folder: runtime.MODEL_STAGING).
_IGNORE = ["_*", "checkpoint-*", ".*.partial", ".model.partial/*", "run_config.json", "environment.json"]


class HiddenToken:
    """A Hub token kept out of everything a run writes. Trainer pickles its arguments into
    training_args.bin (in output_dir and in every checkpoint), and `repr` reaches logs: pickled, this holds
    nothing; shown, it is `<hidden>`. Copies are the same object, so the push still has the token."""

    def __init__(self, value: str | None):
        self._value = value

    def get(self) -> str | None:
        return self._value

    def __reduce__(self):
        return HiddenToken, (None,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return "<hidden>"


def hide_token(args: TrainingArguments) -> None:
    """Move `--hub_token` out of the arguments' fields (see `HiddenToken`); `push_output_dir` uses it."""
    args.hidden_hub_token = HiddenToken(args.hub_token)
    args.hub_token = None


def _token(args: TrainingArguments) -> str | None:
    hidden = getattr(args, "hidden_hub_token", None)
    return hidden.get() if hidden is not None else args.hub_token


def defer_push(args: TrainingArguments) -> bool:
    """Take the push out of Trainer's hands; returns whether the user asked for one."""
    requested = bool(args.push_to_hub)
    args.push_to_hub = False
    return requested


def repo_id(args: TrainingArguments) -> str:
    """`--hub_model_id`, else the output directory's name (Trainer's rule)."""
    return args.hub_model_id or Path(args.output_dir).absolute().name


def push_output_dir(args: TrainingArguments) -> str:
    """Create the repository if needed and upload output_dir; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=_token(args))
    target = repo_id(args)
    try:
        repo = api.create_repo(target, private=args.hub_private_repo, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo.repo_id,
            folder_path=args.output_dir,
            commit_message="Upload model trained with mossrl_hf",
            revision=args.hub_revision,
            ignore_patterns=_IGNORE,
        )
    except Exception as error:  # offline, no credentials, no network, no permission: all end the same way
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(
            f"push to the Hub ({target}) failed: {type(error).__name__}: {reason} "
            f"(the model, results and card are saved in {args.output_dir})"
        ) from None
    logger.info("Pushed %s to %s", args.output_dir, commit.commit_url)
    return commit.commit_url
