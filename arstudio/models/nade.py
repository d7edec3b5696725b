"""NADE: the neural autoregressive distribution estimator.

Larochelle & Murray, "The Neural Autoregressive Distribution Estimator",
AISTATS 2011. One hidden layer whose weights W and bias c are *shared* by all
conditionals:

    h_i = sigmoid(c + W[:, <i] x_<i)                         (H,)
    p(x_i = 1 | x_<i) = sigmoid(b_i + V_i . h_i)             (softmax over K for K levels)

Sharing cuts the parameters from O(D^2 H) to O(D H) and lets training compute
every h_i with one running sum (see :mod:`arstudio.nn.nade_hidden`): O(D H)
per example, no loop over dimensions on a GPU (one vectorised pass) and a loop
over blocks of dimensions on a CPU (cache-sized, state carried). Sampling keeps the
running sum a_{i+1} = a_i + W[:, i] x_i between steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from arstudio.models._vector import (
    VECTOR_MODALITIES,
    categorical_head,
    encode,
    encode_input,
    input_features,
    output_logits,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model
from arstudio.nn.nade_hidden import NADEHidden, NADEStepper, nade_logits


@register_model(
    "nade",
    family="Fully-visible vector models",
    modalities=VECTOR_MODALITIES,
    paper="Larochelle, Murray, The Neural Autoregressive Distribution Estimator, AISTATS 2011",
    summary=("One sigmoid hidden layer shared by all conditionals: h_i = sigmoid(c + W x_<i). "
             "All hidden states come from one running sum in O(DH), and sampling updates "
             "a_{i+1} = a_i + W[:, i] x_i instead of recomputing."),
    factorisation="p(x) = prod_i p(x_i | h_i),  h_i = sigmoid(c + W[:, <i] x_<i), raster order",
    presets={"tiny": {"hidden": 16}, "quick demo": {"hidden": 100}, "quality": {"hidden": 500}},
)
class NADE(ARModel):
    @dataclass(frozen=True)
    class Config:
        hidden: int = 500  # H, hidden units shared by every conditional (500 in the paper)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D, H, Out = spec.num_dims, config.hidden, output_logits(spec)
        self.hidden = NADEHidden(D, input_features(spec), H)
        self.V = nn.Parameter(torch.randn(D, H, Out) / math.sqrt(H))  # per-dimension read-out
        self.b = nn.Parameter(torch.zeros(D, Out))

    def _logits(self, a: torch.Tensor, dims=slice(None)) -> torch.Tensor:
        """(B, D', H) pre-activations of dimensions ``dims`` -> (B, D', O) logits."""
        h = torch.sigmoid(a)
        return torch.einsum("bdh,dho->bdo", h, self.V[dims]) + self.b[dims]

    def conditionals(self, x, **cond):
        # blocks of dimensions with the running sum carried on a CPU, one pass on a GPU
        logits = nade_logits(self.hidden, encode_input(self, x), self.V, self.b)  # (B, D, O)
        return categorical_head(logits, self.spec)

    def conditionals_loop(self, x):
        """The same conditionals computed with a Python loop over D (reference/benchmark)."""
        a = self.hidden.preactivations_loop(encode_input(self, x))
        return categorical_head(self._logits(a), self.spec)

    def _head(self, a: torch.Tensor, i: int):
        """(n, H) running sum at dimension i -> Conditionals with batch (n,)."""
        logits = self._logits(a.unsqueeze(1), slice(i, i + 1))  # (n, 1, O)
        one = type(self.spec)((1,), self.spec.levels, "vector")
        return categorical_head(logits, one).at(0)

    def make_stepper(self, x, **cond):
        return NADEStepper(self.hidden, x.shape[0], partial(encode, spec=self.spec), self._head)
