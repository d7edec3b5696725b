"""FVSBN: the fully-visible sigmoid belief network.

Frey, "Graphical Models for Machine Learning and Digital Communication",
MIT Press 1998 (and Neal, "Connectionist learning of belief networks",
Artificial Intelligence 1992). Every conditional is a logistic regression
on the dimensions before it:

    p(x_i = 1 | x_<i) = sigmoid(a_0^i + sum_{j<i} a_j^i x_j)

i.e. one masked linear layer with a strictly lower-triangular mask. For K
levels the inputs are one-hot and the sigmoid becomes a K-way softmax.
O(D^2) parameters, no hidden layer: the baseline every later model beats.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from arstudio.models._vector import (
    categorical_head,
    encode_input,
    input_features,
    output_logits,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.nn import MaskedLinear, degree_mask, free_parameters


@register_model(
    "fvsbn",
    family=VECTOR_MODELS,
    paper="Frey, Graphical Models for Machine Learning and Digital Communication, MIT Press 1998",
    summary=("Fully-visible sigmoid belief network: each dimension is a logistic regression "
             "(softmax for K levels) on all earlier ones. One masked linear layer with a "
             "strictly lower-triangular mask; no hidden units, O(D^2) weights."),
    factorisation="p(x) = prod_i sigmoid(a_0^i + sum_{j<i} a_j^i x_j), raster order",
    presets={"tiny": {}, "quick demo": {}, "quality": {}},
)
class FVSBN(ARModel):
    @dataclass(frozen=True)
    class Config:
        init_scale: float = 0.01  # std of the initial weights: start near independent marginals

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D, Fin, Out = spec.num_dims, input_features(spec), output_logits(spec)
        self.linear = MaskedLinear(D * Fin, D * Out)
        degrees = torch.arange(D)
        # output dimension i sees input dimension j only when j < i
        self.linear.set_mask(0, degree_mask(degrees.repeat_interleave(Fin),
                                            degrees.repeat_interleave(Out), strict=True))
        torch.nn.init.normal_(self.linear.weight, std=config.init_scale)
        torch.nn.init.zeros_(self.linear.bias)

    def num_parameters(self) -> int:
        return free_parameters(self)

    def conditionals(self, x, **cond):
        B = x.shape[0]
        u = encode_input(self, x).reshape(B, -1)  # (B, D*F)
        logits = self.linear(u).view(B, self.num_dims, -1)  # (B, D, O)
        return categorical_head(logits, self.spec)
