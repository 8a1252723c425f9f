"""Layer-wise learning-rate decay: the head and the top encoder layer train at the base rate, each layer
below at `decay` times the rate of the one above, the embeddings lowest (ULMFiT, ELECTRA)."""

import re

from ..adapters import embeddings_prefix, encoder_layers


def layer_depths(model) -> tuple[dict[str, int], int]:
    """Each parameter's depth (0 for the embeddings, i + 1 for encoder layer i, top + 1 for the rest: head,
    pooler, adapters' extra inputs) and that top depth."""
    layers_name, layers = encoder_layers(model)
    top = len(layers) + 1
    layer_index = re.compile(re.escape(layers_name) + r"\.(\d+)\.")
    embeddings = embeddings_prefix(model)
    depths = {}
    for name, _ in model.named_parameters():
        match = layer_index.search(name)
        if match:
            depths[name] = int(match.group(1)) + 1
        elif name.startswith(embeddings):
            depths[name] = 0
        else:
            depths[name] = top
    return depths, top


def apply_layerwise_decay(optimizer, model, base_lr: float, decay: float) -> None:
    """Split the optimizer's parameter groups by depth, each with its decayed learning rate. Called before
    the scheduler exists and before any step, so the schedule scales every group from its own rate."""
    depths, top = layer_depths(model)
    depth_of = {id(parameter): depths[name] for name, parameter in model.named_parameters()}
    groups = []
    for group in optimizer.param_groups:
        by_depth: dict[int, list] = {}
        for parameter in group["params"]:
            by_depth.setdefault(depth_of[id(parameter)], []).append(parameter)
        for depth, parameters in sorted(by_depth.items()):
            lr = base_lr * decay ** (top - depth)
            groups.append({**group, "params": parameters, "lr": lr, "initial_lr": lr})
    optimizer.param_groups.clear()
    for group in groups:
        optimizer.add_param_group(group)
