"""Receptive fields on a sequence, and WaveNet's dilation tree.

``sequence_receptive_field(model, x, t)`` answers "which past time steps does
p(x_t | x_<t) depend on?" by autograd on the actual model and input. Models
that route their data through ``scale_input`` use
:func:`arstudio.inspect.receptive_field`; models that read one-hot levels
through a ``logits(one_hot)`` method (WaveNet, the causal-conv ARM) are
differentiated with respect to a one-hot leaf instead; masked-linear models
(MADE, FVSBN, MASDE) at the input of their masked layers. Token-embedding
models (RNN, Transformer) have no such input and raise ``ValueError``.

``dilation_tree(model, T, t)`` derives the same set from the architecture
alone: walking down from output t, a layer with kernel k and dilation d pulls
in the steps s, s-d, ..., s-(k-1)d of every step s above it (the residual
path is the tap at s itself), and the type-A input convolution shifts by one
more step. Level 0 is the input x; the top level is {t}::

    output  t                                   ●
    layer 2 (d=2)                   ●       ●
    layer 1 (d=1)               ●   ●   ●   ●
    input conv (A)          ●   ●   ●   ●   ●
    x                       t-5 ...            t-1
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from arstudio.inspect.connectivity import has_masks, masked_input_gradient
from arstudio.inspect.receptive_field import receptive_field


def sequence_receptive_field(model, x: torch.Tensor, t: int, **cond) -> torch.Tensor:
    """|d log p(x_t | x_<t) / d input at each step|: (T,) float on the CPU."""
    if model.spec.modality != "sequence" and len(model.spec.shape) != 1:
        raise ValueError("sequence_receptive_field needs a 1-D (sequence) model")
    try:
        return receptive_field(model, x, t, **cond).reshape(-1)
    except ValueError:
        if has_masks(model):  # MADE, FVSBN, MASDE: differentiate at their masked input layers
            return masked_input_gradient(model, x.reshape(1, -1), t, **cond)[0]
        if not (hasattr(model, "logits") and model.spec.levels):
            raise
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x1 = x.reshape(1, -1).to(model.device).long()  # (1, T)
            one_hot = F.one_hot(x1, model.spec.levels).float().transpose(1, 2)  # (1, K, T)
            one_hot.requires_grad_(True)
            logits = model.logits(one_hot, **cond)  # (1, T, K)
            term = F.log_softmax(logits[0, t].float(), -1)[x1[0, t]]
            (grad,) = torch.autograd.grad(term, one_hot)
    finally:
        model.train(was_training)
    return grad[0].abs().sum(0).detach().cpu()  # (T,): summed over the K one-hot channels


@dataclass
class DilationTree:
    """Which steps feed output ``t``, level by level (0 = the input x, last = {t})."""
    t: int
    names: list[str]  # one per level
    levels: list[list[int]]  # sorted time steps active at each level
    edges: list[list[tuple[int, int]]] = field(default_factory=list)  # edges[l]: (s at l+1, s' at l)

    @property
    def inputs(self) -> list[int]:
        return self.levels[0]


def has_dilation_tree(model) -> bool:
    return hasattr(model, "input") and hasattr(model, "layers") and all(
        hasattr(layer, "conv") and hasattr(layer.conv, "dilation") for layer in model.layers)


def _taps(conv) -> list[int]:
    """Offsets back in time that one causal conv output reads: 0, d, 2d, ... (+1 for type A)."""
    k, d = conv.kernel_size[0], conv.dilation[0]
    shift = 1 if getattr(conv, "mask_type", "B") == "A" else 0
    return [shift + j * d for j in range(k)]


def dilation_tree(model, T: int, t: int) -> DilationTree:
    """The dilation tree of output ``t`` in a length-``T`` sequence (WaveNet-style models)."""
    if not has_dilation_tree(model):
        raise ValueError(f"{type(model).__name__} has no dilated layer stack")
    convs = [model.input] + [layer.conv for layer in model.layers]  # bottom to top
    names = ["x", "input conv (A)"] + [f"layer {i + 1} (d={layer.conv.dilation[0]})"
                                         for i, layer in enumerate(model.layers)]
    levels, edges = [[t]], []
    for conv in reversed(convs):  # walk down from the output
        below, links = set(), []
        for s in levels[0]:
            for off in _taps(conv):
                if s - off >= 0:  # earlier steps are zero padding
                    below.add(s - off)
                    links.append((s, s - off))
        levels.insert(0, sorted(below))
        edges.insert(0, links)
    # the top level is the last layer's own output at t; the head reads it (and every skip at t)
    return DilationTree(t, names, levels, edges)
