"""Receptive fields by autograd: which input entries one output depends on.

``receptive_field(model, x, index)`` differentiates the log-probability term
of flattened dimension ``index``, log p(x_index | x_<index), with respect to
the model's float input and returns |gradient| in the data's shape.

How the float input is reached: every model routes its data through
``ARModel.scale_input`` (discrete levels -> floats in [-1, 1]). For the
duration of the call that method is shadowed on the instance by one that
returns a leaf tensor with ``requires_grad=True``; its ``.grad`` after the
backward pass is the answer. A model that never calls ``scale_input`` (one
that only embeds integer tokens) has no float input to differentiate and
gets a ``ValueError``. The model's weights are not touched and its
train/eval mode is restored.
"""
from __future__ import annotations

import torch


def receptive_field(model, x: torch.Tensor, index: int, binary: bool = False,
                    **cond) -> torch.Tensor:
    """|d log p(x_index | x_<index) / d input| for one example ``x`` (*shape).

    Returns a float tensor of ``x``'s shape (on the CPU), or a bool tensor
    (gradient != 0) when ``binary``. Extra keyword arguments (e.g. ``label=``)
    go to the model as conditioning inputs.
    """
    if tuple(x.shape) != tuple(model.spec.shape):
        raise ValueError(f"x must be one example of shape {model.spec.shape}, got {tuple(x.shape)}")
    leaves: list[torch.Tensor] = []
    original = type(model).scale_input

    def scale_with_grad(data):
        scaled = original(model, data).detach().requires_grad_(True)
        leaves.append(scaled)
        return scaled

    was_training = model.training
    model.eval()
    model.scale_input = scale_with_grad  # shadows the class method on this instance only
    try:
        with torch.enable_grad():
            batch = x.unsqueeze(0).to(model.device)
            term = model.log_prob(batch, reduce=False, **cond).flatten(1)[0, index]
            if not leaves:
                raise ValueError(f"{type(model).__name__} never calls scale_input: "
                                 "no float input to differentiate")
            grads = torch.autograd.grad(term, leaves, allow_unused=True)
    finally:
        del model.scale_input
        model.train(was_training)
    total = torch.zeros(model.spec.shape)
    for leaf, grad in zip(leaves, grads):
        if grad is not None and leaf.shape[1:] == total.shape:
            total += grad[0].abs().detach().cpu()
    return total > 0 if binary else total
