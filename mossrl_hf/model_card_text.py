"""The model card's markdown body: summary, how to use, labels, data, training, results, limitations and
licences. The facts (tasks, data sources, the base model) come from model_card; this module words them.
"""

import re
from typing import Any

from .model_card import (
    DEFAULT_BASE_MODEL_ID,
    TASKS,
    CardInputs,
    DataSource,
    Task,
    base_model_reference,
    metric_title,
    split_sources,
    splits_in,
    unique,
)

# Load snippets. {model} is the repository (or folder), {auto}/{peft} the Auto classes, {base} the base model.
_LOAD_FULL = """from transformers import AutoTokenizer, {auto}

model = {auto}.from_pretrained("{model}")
tokenizer = AutoTokenizer.from_pretrained("{model}")
"""
_LOAD_ADAPTER = """from peft import {peft}
from transformers import AutoConfig, AutoTokenizer

config = AutoConfig.from_pretrained("{model}")  # the label maps, saved beside the adapter
model = {peft}.from_pretrained(
    "{model}", num_labels=config.num_labels, id2label=config.id2label, label2id=config.label2id
)
tokenizer = AutoTokenizer.from_pretrained("{model}")
"""
_LOAD_ON_BASE = """from peft import PeftModel
from transformers import AutoConfig, {auto}

config = AutoConfig.from_pretrained("{model}")  # the label maps, saved beside the adapter
base = {auto}.from_pretrained("{base}", config=config)
model = PeftModel.from_pretrained(base, "{model}")
"""
_PIPELINES = {
    "ner": ('aggregation_strategy="first"', '"EU rejects German call to boycott British lamb ."'),
    "classification": ("", '"The new film from Ang Lee opens in Paris today ."'),
    "reward_model": ('function_to_apply="none"', "dialogue"),
    "causal_lm": ("", '"the film is", max_new_tokens=30, do_sample=True'),
    "rl": ("", '"the film is", max_new_tokens=30, do_sample=True'),
    "masked_lm": ("", '"the european union [MASK] the proposal ."'),
}
_GENERATE = """inputs = tokenizer("the film is", return_tensors="pt")
with torch.no_grad():
    output = model.generate(**inputs, max_new_tokens=30, do_sample=True, top_p=0.95)
print(tokenizer.decode(output[0], skip_special_tokens=True))
"""
_DIALOGUE = (
    'dialogue = "\\n\\nHuman: How do I bake bread?\\n\\nAssistant: Mix flour, water, yeast and salt."\n'
)
_USE = {
    "ner": """words = ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
inputs = tokenizer(words, is_split_into_words=True, truncation=True, return_tensors="pt")
with torch.no_grad():
    predicted = model(**inputs).logits.argmax(-1)[0].tolist()
first = {}  # each word takes the tag of its first sub-token, as in training
for position, word in enumerate(inputs.word_ids()):
    if word is not None:
        first.setdefault(word, position)
tags = [model.config.id2label[predicted[position]] for position in first.values()]
""",
    "classification": """texts = ["The new film from Ang Lee opens in Paris today .", "a dull mess ."]
inputs = tokenizer(texts, padding=True, truncation=True, max_length={length}, return_tensors="pt")
with torch.no_grad():
    probabilities = model(**inputs).logits.softmax(-1)
labels = [model.config.id2label[index] for index in probabilities.argmax(-1).tolist()]
""",
    "causal_lm": _GENERATE,
    "rl": _GENERATE,
    "masked_lm": """inputs = tokenizer("the european union [MASK] the proposal .", return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
position = (inputs["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
print(tokenizer.convert_ids_to_tokens(logits[0, position].topk(5).indices.tolist()))
""",
    "reward_model": """tokenizer.truncation_side = "left"  # as in training: long prompts lose their beginning
"""
    + _DIALOGUE
    + """inputs = tokenizer(dialogue, truncation=True, max_length={length}, return_tensors="pt")
with torch.no_grad():
    reward = model(**inputs).logits[0, 0].item()  # the one output is the reward: higher is preferred
""",
}
_REWARD_COMMAND = "`python -m mossrl_hf.reward --model DIR --input FILE --output FILE` scores "
_COMMANDS = {
    "ner": "`python -m mossrl_hf.predict --model DIR --input sentences.txt --output tags.jsonl` tags whole "
    "sentences word by word, splits long ones into windows and decodes as the evaluation did",
    "classification": _REWARD_COMMAND + "texts with the probability of a label (a classifier as a reward "
    "function)",
    "reward_model": _REWARD_COMMAND + "one text per line (or JSON Lines with `--text_field`) with the reward",
    "causal_lm": "`accelerate launch recipes/rl.py --model_name_or_path DIR --reward_model REWARD_DIR "
    "--prompts_file FILE` trains it further against a reward model",
    "masked_lm": "`accelerate launch recipes/ner.py --model_name_or_path DIR ...` (or classify.py) "
    "fine-tunes it for a task; the masked-LM head is dropped",
    "rl": "`accelerate launch recipes/rl.py --model_name_or_path DIR ...` continues the training; "
    "`samples_before.jsonl` and `samples_after.jsonl` beside the model show what it writes",
}
_GENERATIVE = ("causal_lm", "rl")
_UNCASED = (
    "The base model is uncased: it lower-cases its input, so capitalisation cues (names, acronyms) are lost."
)
_SMALL_REWARD = (
    "This is a small reward model: its reward is a weak signal, a policy optimised against it will find "
    "texts it over-rates (reward hacking), and rewards are comparable only between replies to one prompt."
)


def _cell(value: Any, precise: bool = True) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if precise else f"{value:g}"
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return str(value).replace("|", "\\|")


def _figure(results: dict[str, Any], key: str) -> str:
    """A figure, with its 95% bootstrap interval beside it when the run computed one."""
    interval = results.get(f"{key}_ci95")
    cell = _cell(results.get(key, "-"))
    return f"{cell} [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else cell


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _fill(template: str, values: dict[str, Any]) -> str:
    """`{name}` replaced by values[name]; other braces (Python dicts in the snippets) stay as they are."""
    return re.sub(r"\{(\w+)\}", lambda match: str(values.get(match[1], match[0])), template)


def _code(source: str) -> str:
    return f"```python\n{source.rstrip()}\n```"


def _label_groups(inputs: CardInputs) -> list[str]:
    """Entity types (NER) or classes (classification) that have their own figures."""
    if inputs.task == "reward_model":
        return []
    if inputs.task == "classification":
        return list(inputs.labels)
    types = [label.split("-", 1)[1] for label in inputs.labels if "-" in label]
    if not types:  # no label list: the types that have a support count, strict-mode rows aside
        suffix = "_number"
        types = [key.split("_", 1)[1][: -len(suffix)] for key in inputs.results if key.endswith(suffix)]
        types = [name for name in types if not name.startswith("strict_")]
    return unique(types)


def _pipeline_snippet(inputs: CardInputs, task: Task, model_id: str) -> str:
    adapter = inputs.adapter_mode == "lora"
    options, example = _PIPELINES[inputs.task]
    model = "model=model.merge_and_unload(), tokenizer=tokenizer" if adapter else f'model="{model_id}"'
    arguments = ",\n    ".join(part for part in (f'"{task.pipeline_tag}"', model, options) if part)
    pipe = "from transformers import pipeline\n\n" + (_DIALOGUE if inputs.task == "reward_model" else "")
    if adapter:
        pipe += "# pipelines take plain transformers models: merge the adapter of the model loaded above\n"
    if inputs.task == "reward_model":
        pipe += '# function_to_apply="none": the raw reward, not its sigmoid\n'
    return pipe + f"pipe = pipeline(\n    {arguments},\n)\npipe({example})"


def _usage(inputs: CardInputs, task: Task, base: str) -> str:
    fill = {
        "model": inputs.hub_model_id or f"path/to/{inputs.model_name}",
        "auto": f"AutoModelFor{task.head}",
        "peft": f"AutoPeftModelFor{task.head}",
        "base": base,
        "length": inputs.hyperparameters.get("max_seq_length", 512),
    }
    adapter = inputs.adapter_mode == "lora"
    load = "import torch\n" + _fill(_LOAD_ADAPTER if adapter else _LOAD_FULL, fill)
    parts = ["## How to use", "With `from_pretrained`:", _code(load + "\n" + _fill(_USE[inputs.task], fill))]
    parts += ["With a `pipeline`:", _code(_pipeline_snippet(inputs, task, fill["model"]))]
    if adapter:
        parts.append(
            f"This repository holds a peft adapter ({inputs.peft_method}) and the trained head, not a "
            "standalone model: loading "
            "needs `peft`. `AutoPeftModel...` loads the base model named in `adapter_config.json`; where "
            f"that is a local path you do not have, load the base model ({base}) yourself:"
        )
        parts.append(_code(_fill(_LOAD_ON_BASE, fill)))
    elif inputs.adapter_mode == "lora-merged":
        parts.append(
            f"The {inputs.peft_method} adapters were merged into the weights: a standalone model, "
            "no `peft` needed."
        )
    parts.append(f"With mossrl_hf, on a local copy DIR: {_COMMANDS[inputs.task]}.")
    return "\n\n".join(parts)


def _labels_section(inputs: CardInputs) -> str:
    if inputs.task in _GENERATIVE:
        return "## Output\n\nText: the model continues a prompt one token at a time."
    if inputs.task == "masked_lm":
        return "## Output\n\nFor each masked position, a score for every token of the vocabulary."
    if inputs.task == "reward_model":
        return "## Labels\n\nOne output, a real-valued reward (not a class): higher means preferred."
    rows = [[str(index), f"`{label}`"] for index, label in enumerate(inputs.labels)]
    extra = ""
    if inputs.task == "ner":
        extra = "\n\nEntity types: " + ", ".join(_label_groups(inputs)) + "."
    return "## Labels\n\n" + _table(["id", "label"], rows) + extra


def _data_section(inputs: CardInputs, sources: dict[str, DataSource]) -> str:
    lines = []
    for split, source in sources.items():
        link = (
            f" ([{source.hub_id}](https://huggingface.co/datasets/{source.hub_id}))" if source.hub_id else ""
        )
        lines.append(f"- {split}: {source.name}{link}, `{source.reference}`")
    lines += [f"- {note}" for note in inputs.data_notes]
    return "## Training data\n\n" + ("\n".join(lines) or "Not recorded.")


METHOD_DESCRIPTIONS = {
    "none": ", all weights fine-tuned.",
    "lora": " with LoRA adapters (peft).",
    "dora": " with DoRA adapters (weight-decomposed LoRA, peft).",
    "ia3": " with IA3 adapters (learned rescaling vectors, peft).",
    "prompt_tuning": " with prompt tuning (learned virtual tokens, peft).",
    "prefix_tuning": " with prefix tuning (peft).",
    "p_tuning": " with P-tuning (virtual tokens from a prompt encoder, peft).",
    "bitfit": " with BitFit: only the biases and the task head trained.",
    "freeze": ", the embeddings and the lower encoder layers frozen.",
    "head_only": " as a linear probe: only the task head trained, the encoder frozen.",
}


def _training_section(inputs: CardInputs, task: Task) -> str:
    text = f"Trained with `transformers.Trainer` by mossrl_hf's `{task.recipe}`"
    text += METHOD_DESCRIPTIONS.get(inputs.peft_method, f" with peft's {inputs.peft_method}.")
    trainable, total = inputs.results.get("trainable_params"), inputs.results.get("total_params")
    if trainable and total:
        text += f" Trainable parameters: {trainable:,} of {total:,} ({100 * trainable / total:.2f}%)."
    rows = [[f"`{key}`", _cell(value, precise=False)] for key, value in inputs.hyperparameters.items()]
    if rows:
        text += "\n\n" + _table(["hyperparameter", "value"], rows)
    if "train_loss" in inputs.results:
        text += f"\n\nFinal training loss: {_cell(inputs.results['train_loss'])}."
    rounds = inputs.results.get("self_training") or []
    if len(rounds) > 1:
        kept = ", ".join(f"{entry['kept']:,}" for entry in rounds[1:])
        text += (
            f"\n\nSelf-trained: after the labelled data, {len(rounds) - 1} round(s) on labelled + "
            f"pseudo-labelled unlabeled texts (kept per round: {kept})."
        )
    teacher_params = inputs.results.get("teacher_total_params")
    if teacher_params:
        text += f"\n\nDistilled from a teacher of {teacher_params:,} parameters"
        speedup = inputs.results.get("student_predict_speedup")
        text += f"; predicts x{speedup:.2f} the teacher's speed on the test split." if speedup else "."
    return "## Training procedure\n\n" + text


def _results_section(inputs: CardInputs, task: Task, splits: list[tuple[str, str]]) -> str:
    if not splits:
        return "## Results\n\nNo evaluation in this run."
    results, parts = inputs.results, ["## Results"]
    metrics = [m for m in task.metrics if any(f"{prefix}_{m}" in results for prefix, _ in splits)]
    header = ["split", *(metric_title(inputs.task, metric, inputs.labels) for metric in metrics)]
    rows = [[split, *(_figure(results, f"{p}_{m}") for m in metrics)] for p, split in splits]
    parts.append(_table(header, rows))
    if any(key.endswith("_ci95") for key in results):
        parts.append(
            "Brackets: the 95% bootstrap confidence interval over the test sentences or examples (percentile "
            "interval of --bootstrap_samples resamples, seeded with the run's seed)."
        )
    if inputs.task == "ner":
        parts.append(
            "Entity scores are seqeval's, conlleval-compatible; strict: seqeval's strict mode, where an "
            "entity counts only if its tags follow the tag scheme exactly."
        )
    if inputs.task == "reward_model":
        parts.append(
            "Pairwise accuracy: how often r_chosen > r_rejected; margin: mean r_chosen - r_rejected."
        )
    for prefix, split in splits:
        parts += _split_details(inputs, prefix, split)
    return "\n\n".join(parts)


def _split_details(inputs: CardInputs, prefix: str, split: str) -> list[str]:
    """One split's figures per entity type or class, and its confusion matrix (classification)."""
    results, parts = inputs.results, []
    kind = "entity type" if inputs.task == "ner" else "class"
    rows = [
        [name, *(_cell(results.get(f"{prefix}_{name}_{m}", "-")) for m in ("precision", "recall", "f1"))]
        + [_cell(results.get(f"{prefix}_{name}_number", "-"))]
        for name in _label_groups(inputs)
        if f"{prefix}_{name}_f1" in results
    ]
    if rows:
        parts += [f"Per {kind}, {split}:", _table([kind, "precision", "recall", "F1", "support"], rows)]
    matrix = results.get(f"{prefix}_confusion_matrix")
    if isinstance(matrix, list) and len(matrix) == len(inputs.labels):
        rows = [[label, *map(_cell, row)] for label, row in zip(inputs.labels, matrix, strict=True)]
        parts += [f"Confusion matrix, {split} (rows: gold, columns: predicted):"]
        parts.append(_table(["gold / predicted", *inputs.labels], rows))
    return parts


def _limitations_section(inputs: CardInputs, sources: dict[str, DataSource], lowercase: bool) -> str:
    notes = [_UNCASED] if lowercase else []
    notes += unique(source.limitation for source in sources.values())
    if inputs.task == "reward_model":
        notes.append(_SMALL_REWARD)
    notes.append("The figures above hold for data like the evaluation splits; check on your own data first.")
    return "## Limitations\n\n" + "\n".join(f"- {note}" for note in notes)


def _licence_section(inputs: CardInputs, sources: dict[str, DataSource], base_id: str | None) -> str:
    model = f"- This model: `{inputs.license}`"
    if base_id == DEFAULT_BASE_MODEL_ID and inputs.license == "apache-2.0":
        model += f", the licence of its base model {DEFAULT_BASE_MODEL_ID}"
    notes = [model + ".", *(f"- {licence}" for licence in unique(s.licence for s in sources.values()))]
    return "## Licences\n\n" + "\n".join(notes) + "\n- The code that trained it, mossrl_hf: MIT."


def render_body(inputs: CardInputs) -> str:
    """The card's markdown, without the metadata header."""
    task, sources = TASKS[inputs.task], split_sources(inputs)
    base_id, base_name = base_model_reference(inputs.base_model)
    base = f"[{base_id}](https://huggingface.co/{base_id})" if base_id else f"`{base_name}` (a local model)"
    if inputs.from_scratch:
        base_id, base_name = None, "none"
        base = "A GPT-2-style model (built from a config, its tokenizer trained on the same text)"
    lowercase = inputs.lowercase_base
    if lowercase is None:
        lowercase = base_id == DEFAULT_BASE_MODEL_ID  # all-MiniLM-L6-v2 is uncased
    data = ", ".join(unique(source.name for source in sources.values())) or "unrecorded data"
    verb = "trained from scratch" if inputs.from_scratch else "fine-tuned"
    summary = f"# {inputs.model_name}\n\n{base} {verb} for {task.description} on {data}."
    if inputs.task_detail:
        summary += f" {inputs.task_detail}"
    sections = [
        summary,
        _usage(inputs, task, base_id or base_name),
        _labels_section(inputs),
        _data_section(inputs, sources),
        _training_section(inputs, task),
        _results_section(inputs, task, splits_in(inputs.results, task)),
        _limitations_section(inputs, sources, lowercase),
        _licence_section(inputs, sources, base_id),
    ]
    return "\n\n".join(sections) + "\n"
