"""Receptive fields by autograd: which input entries one output depends on.

One probe for every model. Each model passes the float tensor its network
first reads through the declared input hook, :meth:`ARModel.input_hook
<arstudio.models.base.ARModel.input_hook>`: the scaled data of the image
models (through ``scale_input``), the encoded vector of the fully-visible
models, the one-hot levels of WaveNet and the causal-conv ARM, the token
embeddings of the RNN and the Transformers. While a probe runs, the hook hands
the network a leaf that requires grad and records how its positions map back
to the data's dimensions (a feature axis to sum over, a shift behind a start
token). :func:`input_gradient` differentiates the log-probability term of one
dimension, log p(x_index | x_<index), with respect to those leaves on the
model's own forward pass; the model's code and weights are untouched and its
train/eval mode is restored.

:func:`receptive_field` (one example, in the data's shape), the sequence
timeline (:func:`arstudio.inspect.sequence.sequence_receptive_field`) and the
mask inspector's check (:func:`arstudio.inspect.connectivity.autograd_dependence`)
are all this one function.
"""
from __future__ import annotations

import torch


def input_gradient(model, batch: torch.Tensor, index: int, **cond) -> torch.Tensor:
    """|d log p(x_index | x_<index) / d input| for a batch (B, *shape): (B, D) on the CPU.

    Summed over each dimension's features (one-hot levels, embedding units) and
    over every place the model reads its input (a MADE ensemble reads it once per
    mask). Extra keyword arguments (e.g. ``label=``) go to the model."""
    D = model.spec.num_dims
    leaves: list = []
    was_training = model.training
    model.eval()
    model._probe = leaves  # the input hook records its leaves here (see ARModel.input_hook)
    try:
        # cuDNN RNNs only differentiate in training mode: use the native kernels here
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            terms = model.log_prob(batch.to(model.device), reduce=False, **cond).reshape(len(batch), D)
            if not leaves:
                raise ValueError(f"{type(model).__name__} never calls input_hook: "
                                 "no float input to differentiate")
            grads = torch.autograd.grad(terms[:, index].sum(), [leaf for leaf, _, _ in leaves],
                                        allow_unused=True)
    finally:
        del model._probe
        model.train(was_training)
    total = torch.zeros(len(batch), D)
    for (leaf, feature_axis, shift), grad in zip(leaves, grads):
        if grad is None:
            continue
        g = grad.detach().abs().float()
        if feature_axis is not None:
            g = g.sum(feature_axis)
        g = g.reshape(len(batch), -1).cpu()
        if g.shape[1] != D:  # a partial read (none in a full forward pass): not a field
            continue
        total[:, : D - shift] += g[:, shift:]  # position p holds dimension p - shift
    return total


def receptive_field(model, x: torch.Tensor, index: int, binary: bool = False,
                    **cond) -> torch.Tensor:
    """|d log p(x_index | x_<index) / d input| for one example ``x`` (*shape).

    Returns a float tensor of ``x``'s shape (on the CPU), or a bool tensor
    (gradient != 0) when ``binary``. Extra keyword arguments (e.g. ``label=``)
    go to the model as conditioning inputs.
    """
    if tuple(x.shape) != tuple(model.spec.shape):
        raise ValueError(f"x must be one example of shape {model.spec.shape}, got {tuple(x.shape)}")
    total = input_gradient(model, x.unsqueeze(0), index, **cond)[0].view(model.spec.shape)
    return total > 0 if binary else total
