"""Receptive fields on a sequence, and WaveNet's dilation tree.

``sequence_receptive_field(model, x, t)`` answers "which past time steps does
p(x_t | x_<t) depend on?" by autograd on the actual model and input: the one
probe of :mod:`arstudio.inspect.receptive_field`, through the input hook every
model declares (scaled values, one-hot levels, encoded vectors or token
embeddings, each mapped back to the time step it holds).

``dilation_tree(model, T, t)`` derives the same set from the architecture
alone (models whose ``dilation_stack()`` lists their causal convolutions):
walking down from output t, a layer with kernel k and dilation d pulls
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

from arstudio.inspect.receptive_field import receptive_field


def sequence_receptive_field(model, x: torch.Tensor, t: int, **cond) -> torch.Tensor:
    """|d log p(x_t | x_<t) / d input at each step|: (T,) float on the CPU."""
    if model.spec.modality != "sequence" and len(model.spec.shape) != 1:
        raise ValueError("sequence_receptive_field needs a 1-D (sequence) model")
    return receptive_field(model, x, t, **cond).reshape(-1)


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
    return model.dilation_stack() is not None


def _taps(conv) -> list[int]:
    """Offsets back in time that one causal conv output reads: 0, d, 2d, ... (+1 for type A)."""
    k, d = conv.kernel_size[0], conv.dilation[0]
    shift = 1 if conv.mask_type == "A" else 0
    return [shift + j * d for j in range(k)]


def dilation_tree(model, T: int, t: int) -> DilationTree:
    """The dilation tree of output ``t`` in a length-``T`` sequence (WaveNet-style models)."""
    convs = model.dilation_stack()  # bottom to top
    if convs is None:
        raise ValueError(f"{type(model).__name__} has no dilated layer stack")
    names = ["x", "input conv (A)"] + [f"layer {i} (d={conv.dilation[0]})"
                                         for i, conv in enumerate(convs[1:], 1)]
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
