"""RNADE: NADE for real-valued data, with mixture-of-Gaussians conditionals.

Uria, Murray, Larochelle, "RNADE: The real-valued neural autoregressive
density-estimator", NeurIPS 2013. The hidden state is NADE's running sum
(:mod:`arstudio.nn.nade_hidden`); each conditional reads a mixture of K
Gaussians from it:

    h_i = relu(rho_i * a_i),   a_i = c + W[:, <i] x_<i                   (H,)
    p(x_i | x_<i) = sum_k pi_ik N(x_i; mu_ik, sigma_ik^2)
    pi_i = softmax(b^pi_i + V^pi_i h_i),  mu_i = b^mu_i + V^mu_i h_i,
    sigma_i = exp(b^sigma_i + V^sigma_i h_i)

The per-dimension rescaling rho_i is the paper's fix for ReLU units whose
input grows with i. Training is one vectorised pass; sampling updates the
running sum like NADE.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from arstudio.distributions import GaussianMixture
from arstudio.models._vector import encode_input
from arstudio.models.base import ARModel
from arstudio.models.nade import NADEStepper
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.nn.nade_hidden import NADEHidden

LOG_STD_RANGE = (-7.0, 5.0)  # keeps a component from collapsing onto one point


@register_model(
    "rnade",
    family=VECTOR_MODELS,
    paper="Uria, Murray, Larochelle, RNADE: The real-valued neural autoregressive "
          "density-estimator, NeurIPS 2013",
    summary=("NADE for real-valued vectors: the shared running-sum hidden layer outputs, for "
             "each dimension, a mixture of K Gaussians (weights, means, log-stds)."),
    factorisation="p(x) = prod_i sum_k pi_ik N(x_i; mu_ik, sigma_ik^2), raster order",
    discrete=False,
    presets={"tiny": {"hidden": 16, "mixtures": 2}, "quick demo": {"hidden": 50, "mixtures": 5},
             "quality": {"hidden": 100, "mixtures": 10}},
)
class RNADE(ARModel):
    config_renames = {"components": "mixtures"}  # checkpoints before the shared names

    @dataclass(frozen=True)
    class Config:
        hidden: int = 50  # H, shared hidden units (the paper uses 50 or 100 on UCI sets)
        mixtures: int = 5  # K Gaussians per conditional (the mixture components)
        mean_spread: float = 1.5  # initial component means spread over [-s, s] (standardised data)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D, H, K = spec.num_dims, config.hidden, config.mixtures
        self.hidden = NADEHidden(D, 1, H)
        self.rho = nn.Parameter(torch.ones(D))  # per-dimension activation rescaling
        self.V = nn.Parameter(torch.randn(D, H, 3 * K) * (0.1 / math.sqrt(H)))
        bias = torch.zeros(D, 3, K)
        bias[:, 1] = torch.linspace(-config.mean_spread, config.mean_spread, K)  # distinct means
        self.b = nn.Parameter(bias.view(D, 3 * K))

    def _mixture(self, a: torch.Tensor, dims=slice(None)):
        """(B, D', H) pre-activations -> three (B, D', K) tensors: logits, means, log-stds."""
        h = torch.relu(self.rho[dims].unsqueeze(-1) * a)
        params = torch.einsum("bdh,dhk->bdk", h, self.V[dims]) + self.b[dims]
        mix, mean, log_std = params.chunk(3, dim=-1)
        return mix, mean, log_std.clamp(*LOG_STD_RANGE)

    def conditionals(self, x, **cond):
        B = x.shape[0]
        a = self.hidden.preactivations(encode_input(self, x))  # (B, D, H)
        mix, mean, log_std = (p.reshape(B, *self.spec.shape, -1) for p in self._mixture(a))
        return GaussianMixture(mix, mean, log_std)  # batch (B, *shape), K components

    def _head(self, a: torch.Tensor, i: int):
        mix, mean, log_std = (p[:, 0] for p in self._mixture(a.unsqueeze(1), slice(i, i + 1)))
        return GaussianMixture(mix, mean, log_std)  # batch (n,)

    def make_stepper(self, x, **cond):
        return NADEStepper(self, x.shape[0])
