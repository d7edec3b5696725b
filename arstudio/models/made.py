"""MADE: masked autoencoder for distribution estimation.

Germain, Gregor, Murray, Larochelle, "MADE: Masked Autoencoder for
Distribution Estimation", ICML 2015. An MLP whose weight matrices are
multiplied by 0/1 masks built from unit degrees (see
:mod:`arstudio.nn.masked_linear`), so output i only sees inputs before i in
the ordering: all D conditionals in one pass.

Connectivity-agnostic training: the model holds ``masks`` different masks
(fresh hidden degrees; with ``order_agnostic`` also a fresh input ordering)
and each training step uses one drawn at random. With ``fresh_orders`` the
step also gives that mask a new random input ordering (``set_order``, undone
after the step), so the model learns every ordering, not only its masks' own. At test time the first
``ensemble`` masks are averaged as a mixture — probabilities, not logits:

    log p(x) = logsumexp_m log p_m(x) - log M

A mixture of models that share one ordering is itself autoregressive in that
ordering; its conditional is the posterior-weighted mixture

    p(x_i | x_<i) = sum_m w_m(x_<i) p_m(x_i | x_<i),  w_m ∝ p_m(x_<i)

which is what :meth:`MADE.conditionals` returns, so per-dimension terms,
sampling and completion all see the ensemble. Masks with other orderings are
averaged by :meth:`MADE.log_prob_ensemble` (the number the paper reports).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
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
from arstudio.models.steppers import SequenceStepper
from arstudio.nn import MaskedLinear, degree_mask, free_parameters, hidden_degrees


@register_model(
    "made",
    family=VECTOR_MODELS,
    paper="Germain, Gregor, Murray, Larochelle, MADE: Masked Autoencoder for Distribution "
          "Estimation, ICML 2015",
    summary=("An MLP autoencoder whose weights are masked so that output i sees only inputs "
             "before i: every conditional in one pass. Training cycles through several masks "
             "(and optionally orderings); evaluation averages the masks' probabilities."),
    factorisation="p(x) = 1/M sum_m prod_i p_m(x_i | x_<i), masks m share the ordering",
    presets={"tiny": {"hidden": (64,), "masks": 3, "ensemble": 3},
             "quick demo": {"hidden": (256,)},
             "quality": {"hidden": (500,), "masks": 32, "ensemble": 32}},
)
class MADE(ARModel):
    @dataclass(frozen=True)
    class Config:
        hidden: tuple = (500,)  # hidden-layer widths (one layer of 500 in the paper); CLI: hidden=500,500
        masks: int = 1  # connectivity masks drawn from during training (32 in the paper's best)
        order_agnostic: bool = False  # masks after the first also get a random input ordering
        fresh_orders: bool = False  # every training step also draws a new input ordering (any order)
        ensemble: int = 1  # masks averaged at test time (probabilities, not logits)
        seed: int = 0  # seeds the mask degrees and orderings, so a config rebuilds them

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        D, M = spec.num_dims, config.masks
        self.fin, self.out = input_features(spec), output_logits(spec)
        widths = [D * self.fin, *hidden_widths(config.hidden), D * self.out]
        self.layers = nn.ModuleList(MaskedLinear(a, b, M) for a, b in pairwise(widths))
        g = torch.Generator().manual_seed(config.seed)
        orders = [torch.arange(D)] + [torch.randperm(D, generator=g) if config.order_agnostic
                                      else torch.arange(D) for _ in range(M - 1)]
        self.register_buffer("orders", torch.stack(orders))  # (M, D) generation orders
        for m in range(M):
            self._build_masks(m, g)
        self.active = 0  # the mask whose ordering `order`, sampling and `conditionals` use

    def _build_masks(self, m: int, g: torch.Generator) -> None:
        degrees = ranks_of(self.orders[m].cpu()) + 1  # input degrees 1..D
        prev, lowest = degrees.repeat_interleave(self.fin), 1
        for layer in self.layers[:-1]:
            deg = hidden_degrees(layer.out_features, self.num_dims, lowest, g)
            layer.set_mask(m, degree_mask(prev, deg, strict=False))
            prev, lowest = deg, int(deg.min())
        self.layers[-1].set_mask(m, degree_mask(prev, degrees.repeat_interleave(self.out), strict=True))

    def num_parameters(self) -> int:
        return free_parameters(self)

    @property
    def order_agnostic(self) -> bool:
        """Trained with random orderings (``config.order_agnostic`` or ``fresh_orders``): any
        order is exact."""
        return self.config.order_agnostic or self.config.fresh_orders

    @property
    def order(self):
        return self.orders[self.active].cpu()

    def use_mask(self, m: int) -> None:
        """Generate and evaluate with mask m (and its ordering)."""
        if not 0 <= m < self.config.masks:
            raise ValueError(f"mask {m} out of range 0..{self.config.masks - 1}")
        self.active = m

    def set_order(self, order) -> None:
        """Give the active mask a new input ordering; sampling then follows it.

        The hidden degrees stay: inputs and outputs are re-labelled so that the
        dimension now at position r takes the degree the old position r had."""
        new = torch.as_tensor(order, dtype=torch.long).cpu()
        if sorted(new.tolist()) != list(range(self.num_dims)):
            raise ValueError("order must be a permutation of the flattened dimensions")
        old = self.orders[self.active].cpu()
        same_degree = old[ranks_of(new)]  # new dim j takes the columns of this old dim
        first, last = self.layers[0], self.layers[-1]
        cols = (same_degree[:, None] * self.fin + torch.arange(self.fin)).reshape(-1)
        rows = (same_degree[:, None] * self.out + torch.arange(self.out)).reshape(-1)
        first.set_mask(self.active, first.masks[self.active][:, cols.to(first.masks.device)])
        last.set_mask(self.active, last.masks[self.active][rows.to(last.masks.device)])
        self.orders[self.active] = new.to(self.orders.device)

    # --- likelihood ----------------------------------------------------------------
    def _logits(self, x: torch.Tensor, m: int) -> torch.Tensor:
        """Mask m's output logits (B, D, O): one per dimension for binary data."""
        B = x.shape[0]
        h = encode_input(self, x).reshape(B, -1)  # (B, D*F)
        for layer in self.layers[:-1]:
            h = F.relu(layer(h, m))  # (B, hidden)
        return self.layers[-1](h, m).view(B, self.num_dims, self.out)  # (B, D, O)

    def _level_log_probs(self, x: torch.Tensor, m: int) -> torch.Tensor:
        """log p_m(x_i = k | x_<i) for every i, k: (B, D, K)."""
        B, logits = x.shape[0], self._logits(x, m)
        return F.log_softmax(categorical_head(logits, self.spec).logits.reshape(B, self.num_dims, -1), -1)

    def _binary_terms(self, x: torch.Tensor, m: int) -> torch.Tensor:
        """Binary data: log p_m(x_i | x_<i) (B, D) straight from the one logit l_i per
        dimension, x l - softplus(l), with no two-way softmax in between."""
        logit = self._logits(x, m).squeeze(-1)  # (B, D)
        return x.reshape(x.shape[0], -1).to(logit.dtype) * logit - F.softplus(logit)

    def log_prob(self, x, reduce=True, **cond):
        members = self._members()
        if self.spec.levels != 2 or len(members) > 1:
            return super().log_prob(x, reduce, **cond)
        terms = self._binary_terms(x, members[0])  # (B, D)
        return terms.sum(1) if reduce else terms.view(x.shape[0], *self.spec.shape)

    def _members(self) -> list[int]:
        """Masks averaged at test time: the first `ensemble` that share the active ordering."""
        same = [m for m in range(min(self.config.ensemble, self.config.masks))
                if torch.equal(self.orders[m], self.orders[self.active])]
        return same if self.active in same else [self.active]

    def conditionals(self, x, **cond):
        B, members = x.shape[0], self._members()
        lps = torch.stack([self._level_log_probs(x, m) for m in members])  # (M, B, D, K)
        if len(members) > 1:
            flat = x.reshape(1, B, -1, 1).long().expand(len(members), -1, -1, 1)
            terms = lps.gather(-1, flat).squeeze(-1)  # (M, B, D) log p_m(x_i | x_<i)
            order = self.orders[self.active]
            before = terms[:, :, order].cumsum(-1) - terms[:, :, order]  # exclusive, in order
            prefix = before[:, :, ranks_of(order)]  # (M, B, D): log p_m(x_<i)
            weights = F.log_softmax(prefix, dim=0)  # posterior over masks given x_<i
            mixed = torch.logsumexp(weights.unsqueeze(-1) + lps, dim=0)  # (B, D, K)
        else:
            mixed = lps[0]
        return Categorical(mixed.view(B, *self.spec.shape, -1))

    def log_prob_mask(self, x: torch.Tensor, m: int) -> torch.Tensor:
        """log p_m(x) under mask m alone: (B,)."""
        if self.spec.levels == 2:
            return self._binary_terms(x, m).sum(1)
        lp = self._level_log_probs(x, m)
        return lp.gather(-1, x.reshape(x.shape[0], -1, 1).long()).squeeze(-1).sum(-1)

    def log_prob_ensemble(self, x: torch.Tensor, num_masks: int | None = None) -> torch.Tensor:
        """Average of the first ``num_masks`` masks' probabilities, any orderings: (B,)."""
        n = num_masks or self.config.ensemble
        lps = torch.stack([self.log_prob_mask(x, m) for m in range(n)])  # (n, B)
        return torch.logsumexp(lps, 0) - math.log(n)

    def loss(self, x, **cond):
        if self.training and self.config.fresh_orders:  # a mask with an ordering drawn afresh
            m = int(torch.randint(self.config.masks, ())) if self.config.masks > 1 else 0
            active, saved = self.active, self.orders[m].clone()
            self.active = m
            self.set_order(torch.randperm(self.num_dims))
            try:
                return -self.log_prob_mask(x, m).mean()
            finally:
                self.set_order(saved)
                self.active = active
        if self.training and self.config.masks > 1:
            m = int(torch.randint(self.config.masks, ()))  # connectivity-agnostic step
            return -self.log_prob_mask(x, m).mean()
        return super().loss(x, **cond)

    # --- cached generation ----------------------------------------------------------------
    def make_stepper(self, x, **cond):
        if len(self._members()) > 1:  # the ensemble's posterior weights need every member
            return super().make_stepper(x, **cond)
        return MADEStepper(self, x.shape[0], self.active)


class MADEStepper(SequenceStepper):
    """Cached sampler for one mask: the masked weights are made once, and the first
    layer's pre-activations are a running sum a += W1[:, j] u_j over the dimensions
    generated so far (as NADE's). A step then costs the later hidden layers and the
    O output rows of the dimension asked for, not a full pass."""

    def __init__(self, model: MADE, n: int, m: int):
        super().__init__(model)
        self.fin, self.out = model.fin, model.out
        with torch.no_grad():
            self.weights = [(layer.masked_weight(m), layer.bias) for layer in model.layers]
        b1 = self.weights[0][1]
        self.a = b1.detach().expand(n, -1).clone()  # (n, H1)
        self.rank = ranks_of(model.order).tolist()
        self.order = model.order.tolist()

    def position(self, index):
        return self.rank[index]

    def advance(self, t, flat):  # position t: dimension order[t-1] joins the running sum
        if t > 0:
            j, F_ = self.order[t - 1], self.fin
            u = encode(flat[:, j:j + 1], self.model.spec)[:, 0]  # (n, F)
            self.a.addmm_(u, self.weights[0][0][:, j * F_:(j + 1) * F_].t())  # (n, H1)
        return self.a

    def head(self, a, index):
        O = self.out
        h = F.relu(a)
        for W, b in self.weights[1:-1]:
            h = F.relu(F.linear(h, W, b))
        W, b = self.weights[-1]
        logits = F.linear(h, W[index * O:(index + 1) * O], b[index * O:(index + 1) * O])  # (n, O)
        if self.model.spec.levels == 2:
            return Categorical.from_bernoulli_logits(logits[:, 0])
        return Categorical(logits)
