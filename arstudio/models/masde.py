"""MASDE: MADE restricted to a known dependency structure.

Khajenezhad, Madani, Beigy, "Masked autoencoder for distribution estimation
on small structured data sets", IEEE TNNLS 2021. When the data's graph says
p(x_i | x_<i) = p(x_i | x_{B_i}) for a parent set B_i ⊆ {<i}, the masks can
say so too, and the network spends no weights on connections that cannot
matter. Here the parent sets are local:

    images (C,H,W): B_i = earlier dims (raster, channel-major) within
                    ``radius`` rows and columns of i — a window above/left
    vectors, sequences: B_i = the ``radius`` dims just before i

Labelling (our version of the paper's): hidden unit k is labelled with the
parent set L_k = B_t of a target dimension t (targets cycle over the
dimensions), and a connection is kept only between labels that nest:

    input j -> unit k        when j ∈ L_k
    unit k' -> unit k        when L_k' ⊆ L_k       (deeper layers)
    unit k  -> output i      when L_k ⊆ B_i
    input j -> output i      when j ∈ B_i          (direct path, as in MADE)

so output i depends on B_i and nothing else. Far fewer weights survive the
masks than in a MADE of the same width (:meth:`num_parameters` counts only
those), which is why it needs less data.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._vector import (
    categorical_head,
    encode_input,
    hidden_widths,
    input_features,
    output_logits,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.nn import MaskedLinear, free_parameters


def local_parent_sets(shape: tuple[int, ...], radius: int) -> torch.Tensor:
    """(D, D) bool: [i, j] true when j is a parent of i (j < i in raster order and nearby)."""
    D = 1
    for s in shape:
        D *= s
    idx = torch.arange(D)
    earlier = idx[None, :] < idx[:, None]
    if len(shape) == 3:
        _, H, W = shape
        y, x = (idx // W) % H, idx % W
        near = ((y[:, None] - y[None, :]).abs() <= radius) & ((x[:, None] - x[None, :]).abs() <= radius)
    else:
        near = (idx[:, None] - idx[None, :]) <= radius
    return earlier & near


def subset_mask(inner: torch.Tensor, outer: torch.Tensor) -> torch.Tensor:
    """(len(outer), len(inner)) bool: [k, k'] true when set inner[k'] ⊆ set outer[k]."""
    outside = (~outer).float() @ inner.float().t()  # members of inner[k'] missing from outer[k]
    return outside == 0


@register_model(
    "masde",
    family=VECTOR_MODELS,
    paper="Khajenezhad, Madani, Beigy, Masked autoencoder for distribution estimation on small "
          "structured data sets, IEEE TNNLS 2021",
    summary=("MADE whose masks follow a known dependency structure: each dimension depends only "
             "on its parent set (for images, nearby pixels above/left). Far fewer free weights "
             "than MADE of the same width, so it needs less data."),
    factorisation="p(x) = prod_i p(x_i | x_{B_i}),  B_i = earlier dims within a radius",
    presets={"tiny": {"hidden": (64,), "radius": 1}, "quick demo": {"hidden": (512,)},
             "quality": {"hidden": (1024, 1024)}},
)
class MASDE(ARModel):
    @dataclass(frozen=True)
    class Config:
        hidden: tuple = (500,)  # ReLU hidden-layer widths; CLI: hidden=500,500
        radius: int = 2  # parent window: rows/cols for images, previous dims for 1-D data
        direct: bool = True  # also connect each output to its parents linearly

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D = spec.num_dims
        self.fin, self.out = input_features(spec), output_logits(spec)
        parents = local_parent_sets(spec.shape, config.radius)  # (D, D)
        self.register_buffer("parents", parents, persistent=False)
        has_parents = torch.nonzero(parents.any(1)).flatten()
        targets = has_parents if len(has_parents) else torch.arange(D)
        widths = [D * self.fin, *hidden_widths(config.hidden), D * self.out]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in pairwise(widths))
        # labels of the previous layer's units; inputs are labelled by themselves
        labels = torch.eye(D, dtype=torch.bool).repeat_interleave(self.fin, 0)
        for layer in self.layers[:-1]:
            unit_labels = parents[targets[torch.arange(layer.out_features) % len(targets)]]
            layer.set_mask(0, subset_mask(labels, unit_labels))
            labels = unit_labels
        out_sets = parents.repeat_interleave(self.out, 0)  # output (i, o) may see B_i
        self.layers[-1].set_mask(0, subset_mask(labels, out_sets))
        with torch.no_grad():  # nn.Linear scales its init by the full fan-in; ours is sparse
            for layer in self.layers:
                fan_in = layer.masks[0].sum(1, keepdim=True).clamp(min=1)
                layer.weight.mul_((layer.in_features / fan_in).sqrt())
        if config.direct:
            self.direct = MaskedLinear(D * self.fin, D * self.out, bias=False)
            self.direct.set_mask(0, parents.repeat_interleave(self.out, 0).repeat_interleave(self.fin, 1))
            nn.init.zeros_(self.direct.weight)

    def num_parameters(self) -> int:
        return free_parameters(self)

    def conditionals(self, x, **cond):
        B = x.shape[0]
        u = encode_input(self, x).reshape(B, -1)  # (B, D*F)
        h = u
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))  # (B, hidden)
        logits = self.layers[-1](h)  # (B, D*O)
        if self.config.direct:
            logits = logits + self.direct(u)
        return categorical_head(logits.view(B, self.num_dims, self.out), self.spec)
