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

import torch
from torch import nn

from arstudio.models._vector import (
    categorical_head,
    categorical_one,
    encode,
    encode_input,
    input_features,
    output_logits,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.models.steppers import SequenceStepper
from arstudio.nn.nade_hidden import NADEHidden, RunningSum, nade_logits


@register_model(
    "nade",
    family=VECTOR_MODELS,
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
        return categorical_one(self._logits(a.unsqueeze(1), slice(i, i + 1)), self.spec)

    def make_stepper(self, x, **cond):
        return NADEStepper(self, x.shape[0])

    @torch.no_grad()
    def sample(self, n, known=None, mask=None, temperature=1.0, generator=None, naive=False, **cond):
        """Binary data: a tight loop of five (n, H)-sized operations per dimension.

        With u_i the uniform the shared sampler would draw at step i, x_i = 1 exactly
        when l_i / T > log((1 - u_i) / u_i), the inverse CDF of sigma(l_i / T), and the
        ±1 input updates a_{i+1} = a_i + (2 x_i - 1) W_i. The uniforms come from one draw
        of the same stream, so the samples equal the stepwise path's for the same seed
        (tested); nothing larger than (n, H) is touched per dimension."""
        if naive or self.spec.levels != 2:
            return super().sample(n, known, mask, temperature, generator, naive, **cond)
        x, mask = self._prepare(n, known, mask)
        D, dev = self.num_dims, self.device
        flat_x, flat_mask = x.view(n, D), mask.view(n, D)
        all_known = flat_mask.all(0).tolist()
        some_known = flat_mask.any(0).tolist()
        draws = D - sum(all_known)
        u = torch.rand((draws, n), generator=generator).to(dev)  # the stepwise path's uniforms
        t = max(temperature, 1e-6)
        thresholds = iter((torch.log1p(-u) - torch.log(u)).mul_(t).unbind(0))
        W = self.hidden.W[..., 0].t()  # (D, H): W_j
        # a_{i+1} = a_i + 2 x_i W_i - W_i: one (n, 2) @ (2, H) update with rows [x_i, 1]
        step_w = torch.stack([2 * W, -W], 1).unbind(0)  # (2, H) each
        V, b = self.V[..., 0].unbind(0), self.b[:, 0].unbind(0)
        a = self.hidden.c.expand(n, -1).clone()  # (n, H): a_1 = c
        h, logit = torch.empty_like(a), a.new_empty(n)
        xs1 = a.new_ones(D, n, 2)  # [x_i, 1] for every dimension
        rows, xs = xs1.unbind(0), xs1[..., 0].unbind(0)
        known_f = flat_x.t().to(a.dtype)
        if not any(some_known):  # the common case: four operations a dimension, no branches
            for i, thr in zip(range(D), thresholds):
                torch.addmv(b[i], torch.sigmoid(a, out=h), V[i], out=logit)  # l_i (n,)
                torch.gt(logit, thr, out=xs[i])
                a.addmm_(rows[i], step_w[i])
        for i in range(D) if any(some_known) else ():
            if all_known[i]:
                xs[i].copy_(known_f[i])
            else:
                torch.addmv(b[i], torch.sigmoid(a, out=h), V[i], out=logit)
                torch.gt(logit, next(thresholds), out=xs[i])
                if some_known[i]:
                    xs[i].copy_(torch.where(flat_mask[:, i], known_f[i], xs[i]))
            a.addmm_(rows[i], step_w[i])
        flat_x.copy_(xs1[..., 0].t())
        return x


class NADEStepper(SequenceStepper):
    """Cached sampler of NADE-style models (NADE, RNADE) in raster order: position i
    adds dimension i-1 to the running sum a_i = c + W[:, <i] x_<i, one rank-F update,
    and the model's ``_head(a_i, i)`` gives p(x_i | x_<i)."""

    def __init__(self, model, n: int):
        super().__init__(model)
        self.sum = RunningSum(model.hidden, n)

    def advance(self, t, flat):
        if t > 0:
            self.sum.add(t - 1, encode(flat[:, t - 1: t], self.model.spec)[:, 0])  # (n, F)
        return self.sum.a

    def head(self, a, index):
        return self.model._head(a, index)
