"""Receptive fields on a sequence, and WaveNet's dilation tree.

``sequence_receptive_field(model, x, t)`` answers "which past time steps does
p(x_t | x_<t) depend on?" by autograd on the actual model and input. Models
that route their data through ``scale_input`` use
:func:`arstudio.inspect.receptive_field`; models that read one-hot levels
through a ``logits(one_hot)`` method (WaveNet, the causal-conv ARM) are
differentiated with respect to a one-hot leaf instead; masked-linear models
(MADE, FVSBN, MASDE) at the input of their masked layers; token-embedding
models (RNN, Transformer) at the output of the embedding that reads the
sequence, each position mapped back to the time step whose token it holds.

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
        if any(isinstance(m, torch.nn.Embedding) for m in model.modules()) and not hasattr(model, "logits"):
            return embedding_field(model, x, t, **cond)
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


def _shift_of(indices: torch.Tensor, x: torch.Tensor, levels: int) -> int | None:
    """How far right the token ids are shifted against x (0, or 1 behind a start token
    that is no level); None when they are not the sequence's tokens."""
    if indices.dim() != 2 or indices.shape[1] != len(x):
        return None
    ids, x = indices[0].cpu(), x.cpu().long()
    if torch.equal(ids, x):
        return 0
    if torch.equal(ids[1:], x[:-1]) and not 0 <= int(ids[0]) < levels:
        return 1
    return None


def embedding_field(model, x: torch.Tensor, t: int, **cond) -> torch.Tensor:
    """Receptive field of a token-embedding model (RNN, Transformer): (T,) on the CPU.

    A forward hook swaps the output of every embedding that is looked up with
    the sequence's own tokens (as they are, or shifted right behind a start
    token) for a leaf that requires grad; its gradient at position p belongs to
    the time step the token there came from."""
    found: list[tuple[torch.Tensor, int]] = []

    def make_leaf(module, args, output):
        shift = _shift_of(args[0], x, model.spec.levels or 0)
        if shift is None:
            return None
        leaf = output.detach().requires_grad_(True)
        found.append((leaf, shift))
        return leaf

    handles = [m.register_forward_hook(make_leaf) for m in model.modules()
               if isinstance(m, torch.nn.Embedding)]
    was_training = model.training
    model.eval()
    try:
        # cuDNN RNNs only differentiate in training mode: use the native kernels here
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            term = model.log_prob(x.unsqueeze(0).to(model.device), reduce=False, **cond).reshape(-1)[t]
            if not found:
                raise ValueError(f"{type(model).__name__}: no embedding reads the sequence's tokens")
            grads = torch.autograd.grad(term, [leaf for leaf, _ in found], allow_unused=True)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    T = len(x)
    field = torch.zeros(T)
    for (leaf, shift), g in zip(found, grads):
        if g is not None:
            per_position = g[0].detach().abs().reshape(T, -1).sum(-1).float().cpu()  # (T,)
            field[: T - shift] += per_position[shift:]  # position p holds x_{p - shift}
    return field


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
