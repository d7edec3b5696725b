"""DeepNADE: an order-agnostic NADE with several hidden layers.

Uria, Côté, Gregor, Murray, Larochelle, "Neural Autoregressive Distribution
Estimation", JMLR 2016 (first as Uria, Murray, Larochelle, "A Deep and
Tractable Density Estimator", ICML 2014). One MLP answers "p(x_i | x_S) for
every i outside S" for *any* observed set S. Its input is the masked data
concatenated with the mask, so an observed 0 and a hidden entry differ:

    input  = [x ⊙ m,  m]            (D·F + D,)      m_j = 1 when j ∈ S
    output = logits of every x_i    (D, O)          used for i ∉ S

Training draws, per example, a random ordering and a split point d: the
first d of the ordering are observed, and the loss is the unbiased estimate
D/(D-d) Σ_{i ∉ S} -log p(x_i | x_S) of the negative log-likelihood averaged
over orderings. Any fixed ordering then gives an exact, normalised model
(D passes, one per prefix); :meth:`DeepNADE.conditionals_given` gives the one-pass
conditionals for a painted mask and :meth:`DeepNADE.complete` samples the
rest of an image given any observed pixels. Averaging several orderings'
probabilities (EoNADE) is :meth:`DeepNADE.log_prob_ensemble`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from arstudio.models._vector import (
    categorical_head,
    encode,
    encode_input,
    hidden_widths,
    input_features,
    output_logits,
    ranks_of,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.models.steppers import Stepper

ROWS_PER_PASS = 8192  # rows (example, prefix) per network call when evaluating all prefixes


@register_model(
    "deepnade",
    family=VECTOR_MODELS,
    paper="Uria, Côté, Gregor, Murray, Larochelle, Neural Autoregressive Distribution "
          "Estimation, JMLR 2016",
    summary=("Order-agnostic NADE: an MLP fed the masked data and the mask gives p(x_i | x_S) "
             "for any observed set S. Trained over random orderings, it completes arbitrary "
             "painted masks exactly and can average orderings (EoNADE)."),
    factorisation="p(x) = prod_i p(x_{o_i} | x_{o_<i}) for any ordering o (raster by default)",
    presets={"tiny": {"hidden": (64, 64)}, "quick demo": {"hidden": (256, 256)},
             "quality": {"hidden": (500, 500)}},
)
class DeepNADE(ARModel):
    supports_any_order = True  # conditionals_given: one pass for any observed set
    order_agnostic = True  # trained over random orderings: set_order is exact

    @dataclass(frozen=True)
    class Config:
        hidden: tuple = (500, 500)  # ReLU hidden-layer widths (2 × 500 in the paper); CLI: hidden=500,500

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D = spec.num_dims
        self.fin, self.out = input_features(spec), output_logits(spec)
        widths = [D * self.fin + D, *hidden_widths(config.hidden)]
        self.body = nn.Sequential(*[m for a, b in pairwise(widths)
                                    for m in (nn.Linear(a, b), nn.ReLU())])
        self.head = nn.Linear(widths[-1], D * self.out)
        self.register_buffer("order_", torch.arange(D))  # ordering used by log_prob / sample

    @property
    def order(self):
        return self.order_.cpu()

    def set_order(self, order) -> None:
        """Evaluate and sample in ``order`` from now on (the weights serve any ordering)."""
        order = torch.as_tensor(order, dtype=torch.long)
        if sorted(order.tolist()) != list(range(self.num_dims)):
            raise ValueError("order must be a permutation of the flattened dimensions")
        self.order_.copy_(order)

    def _logits(self, u: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """(N, D, F) features and (N, D) observed mask -> (N, D, O) logits."""
        N = u.shape[0]
        m = observed.float()
        inp = torch.cat([(u * m.unsqueeze(-1)).reshape(N, -1), m], dim=1)  # (N, D*F + D)
        return self.head(self.body(inp)).view(N, self.num_dims, self.out)

    # --- exact conditionals --------------------------------------------------------
    def conditionals_given(self, x: torch.Tensor, observed: torch.Tensor, **cond):
        """p(x_i | x_S) for every i, one pass; S = ``observed`` ((B, *shape) or (*shape), bool).

        Exact for every i ∉ S: it is the conditional of the normalised model
        whose ordering lists S first and then i (entries for i ∈ S mean nothing)."""
        B = x.shape[0]
        obs = torch.as_tensor(observed, device=x.device).bool().expand(B, *self.spec.shape)
        return categorical_head(self._logits(encode_input(self, x), obs.reshape(B, -1)), self.spec)

    def _terms_logits(self, x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """Logits of p(x_i | x_{before i in order}) for every i: (B, D, O), D prefixes per example."""
        B, D = x.shape[0], self.num_dims
        u = encode_input(self, x)  # (B, D, F)
        rank = ranks_of(order.to(x.device))
        prefix = rank.unsqueeze(0) < rank.unsqueeze(1)  # (D, D): row i observes dims before i
        rows_b = torch.arange(B, device=x.device).repeat_interleave(D)  # (B*D,)
        rows_i = torch.arange(D, device=x.device).repeat(B)
        out = []
        for s in range(0, B * D, ROWS_PER_PASS):
            b, i = rows_b[s:s + ROWS_PER_PASS], rows_i[s:s + ROWS_PER_PASS]
            logits = self._logits(u[b], prefix[i])  # (N, D, O)
            out.append(logits[torch.arange(len(i), device=x.device), i])  # (N, O): only dim i
        return torch.cat(out).view(B, D, self.out)

    def conditionals(self, x, **cond):
        return categorical_head(self._terms_logits(x, self.order_), self.spec)

    def log_prob_in_order(self, x: torch.Tensor, order) -> torch.Tensor:
        """Exact log p(x) under the model with ordering ``order``: (B,)."""
        dist = categorical_head(self._terms_logits(x, torch.as_tensor(order)), self.spec)
        return dist.log_prob(x).flatten(1).sum(1)

    def log_prob_ensemble(self, x: torch.Tensor, orderings: int = 8, seed: int = 0) -> torch.Tensor:
        """EoNADE: average the probabilities of the raster ordering and orderings-1 random ones."""
        g = torch.Generator().manual_seed(seed)
        orders = [self.order_.cpu()] + [torch.randperm(self.num_dims, generator=g)
                                        for _ in range(orderings - 1)]
        lps = torch.stack([self.log_prob_in_order(x, o) for o in orders])  # (K, B)
        return torch.logsumexp(lps, 0) - math.log(orderings)

    def loss(self, x, **cond):
        if not self.training:
            return super().loss(x, **cond)
        B, D = x.shape[0], self.num_dims
        ranks = torch.rand(B, D, device=x.device).argsort(1).argsort(1)  # a random ordering each
        d = torch.randint(0, D, (B, 1), device=x.device)  # observed prefix length
        observed = ranks < d  # (B, D)
        dist = categorical_head(self._logits(encode_input(self, x), observed), self.spec)
        nll = -(dist.log_prob(x).reshape(B, D) * (~observed)).sum(1)  # (B,)
        return (nll * D / (D - d.squeeze(1)).float()).mean()

    # --- generation --------------------------------------------------------------------
    def make_stepper(self, x, **cond):
        return _PrefixStepper(self)

    @torch.no_grad()
    def complete(self, known: torch.Tensor, mask: torch.Tensor, n: int = 1, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample the entries outside ``mask`` given ALL entries inside it (any painted shape).

        Unknown entries are drawn in raster order, each from p(x_i | known ∪ drawn
        so far): an exact sample from the model whose ordering lists the
        known entries first."""
        shape = (n, *self.spec.shape)
        dtype = torch.long if self.spec.discrete else torch.float32
        mask = torch.as_tensor(mask, device=self.device).bool().expand(shape).reshape(n, -1).clone()
        x = torch.as_tensor(known, device=self.device).to(dtype).expand(shape).clone()
        flat = x.view(n, -1)
        flat[~mask] = 0
        for i in range(self.num_dims):
            if bool(mask[:, i].all()):
                continue
            dist = self.conditionals_given(x, mask.view(shape)).at(i)
            flat[:, i] = torch.where(mask[:, i], flat[:, i], dist.sample(temperature, generator).to(dtype))
            mask[:, i] = True
        return x


class _PrefixStepper(Stepper):
    """One pass per generated dimension, observing exactly the dims before it in order."""

    def __init__(self, model: DeepNADE):
        super().__init__(model)
        self.rank = ranks_of(model.order_)

    def conditional(self, index: int, x: torch.Tensor):
        n = x.shape[0]
        observed = (self.rank < self.rank[index]).expand(n, -1)  # (n, D)
        logits = self.model._logits(encode(x, self.model.spec), observed)  # (n, D, O)
        return categorical_head(logits, self.model.spec).at(index)
