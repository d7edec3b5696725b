"""Linear autoregression with Gaussian noise: the classical baseline.

x_t = sum_{i=1..p} a_i x_{t-i} + c + eps_t, eps_t ~ N(0, sigma^2) — Yule,
"On a Method of Investigating Periodicities in Disturbed Series", Phil.
Trans. R. Soc. A 1927; Box & Jenkins, "Time Series Analysis", 1970. Values
before the start of a sequence count as zero. :meth:`LinearAR.fit` solves for
(a, c) by least squares and sets sigma to the residual RMS, which is the
maximum-likelihood fit for real data; gradient training works too.

Discrete data are modelled with a *discretised* Gaussian: level k gets the
Gaussian mass of its bin, the end bins take the tails, so the K
probabilities sum to one exactly. Levels sit evenly in [-1, 1]
(:meth:`ARModel.scale_input`), or, with ``companding="mu-law"`` for 256-level
audio, at their decoded amplitudes with the bins' true non-uniform edges —
the regression then runs on the waveform itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical, GaussianMixture, mu_law_decode
from arstudio.models.base import ARModel
from arstudio.models.registry import SEQUENCE_MODELS, register_model
from arstudio.models.steppers import Stepper


def _log_diff_ndtr(upper, lower):
    """log(Phi(upper) - Phi(lower)) for upper > lower, computed from the nearer tail."""
    lu, ll = torch.special.log_ndtr(upper), torch.special.log_ndtr(lower)
    left = lu + torch.log(-torch.expm1((ll - lu).clamp(max=-1e-12)))
    ru, rl = torch.special.log_ndtr(-upper), torch.special.log_ndtr(-lower)
    right = rl + torch.log(-torch.expm1((ru - rl).clamp(max=-1e-12)))
    return torch.where(upper + lower < 0, left, right)


def discretised_gaussian_logits(mean, log_std, edges):
    """(…,) means and log-stds, (K-1,) inner bin edges -> (…, K) log bin probabilities.

    Level k gets the Gaussian mass between edges k-1 and k; level 0 all mass
    below the first edge, level K-1 all mass above the last."""
    inv = torch.exp(-log_std).unsqueeze(-1)
    z = (edges - mean.unsqueeze(-1)) * inv  # (…, K-1)
    mid = _log_diff_ndtr(z[..., 1:], z[..., :-1])
    first = torch.special.log_ndtr(z[..., :1])
    last = torch.special.log_ndtr(-z[..., -1:])
    return torch.cat([first, mid, last], dim=-1)


@register_model(
    "linear-ar",
    family=SEQUENCE_MODELS,
    paper="Yule, On a Method of Investigating Periodicities in Disturbed Series, Phil. Trans. 1927",
    summary=("The classical autoregression: each value is a fixed linear combination of "
             "the previous p values plus Gaussian noise, fitted by least squares. The "
             "baseline the field started from; compare it with WaveNet on one waveform."),
    factorisation="p(x) = prod_t N(x_t; sum_i a_i x_{t-i} + c, sigma^2)",
    discrete=None,
    presets={"tiny": {"order": 8}, "quick demo": {"order": 16}, "quality": {"order": 64}},
)
class LinearAR(ARModel):
    supports_fit = True  # fit(): least squares, no gradient steps needed
    any_length = True  # queues / state / last p values: no end to generation

    @dataclass(frozen=True)
    class Config:
        order: int = 16  # p: how many past values enter the prediction
        min_log_std: float = -7.0  # floor on log sigma, keeps a perfect fit finite
        # The model has only p + 2 parameters and Adam moves each by about the
        # learning rate per step, so gradient training would crawl. Storing
        # them divided by this gain is a fixed preconditioner: the same
        # optimum, reached `gain` times faster. fit() needs no such help.
        gain: float = 10.0
        # "mu-law": discrete levels are mu-law codes; predict in the decoded
        # (linear audio) domain, where a sum of sinusoids is exactly linear-AR,
        # with the bins' true, non-uniform edges. "none": levels evenly in [-1, 1].
        companding: str = "none"

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.companding not in ("none", "mu-law"):
            raise ValueError(f"companding must be 'none' or 'mu-law', got {config.companding!r}")
        # raw parameters; the model uses gain * raw (see Config.gain)
        self.raw_coefficients = nn.Parameter(torch.zeros(config.order))  # a_1 .. a_p
        self.raw_bias = nn.Parameter(torch.zeros(()))  # c
        self.raw_log_std = nn.Parameter(torch.zeros(()))  # log sigma

    @property
    def coefficients(self):  # (p,) a_1 .. a_p
        return self.config.gain * self.raw_coefficients

    @property
    def bias(self):
        return self.config.gain * self.raw_bias

    @property
    def log_std(self):
        return (self.config.gain * self.raw_log_std).clamp(min=self.config.min_log_std)

    def lags(self, s):  # (B, T) -> (B, T, p): [s_{t-1}, s_{t-2}, ..., s_{t-p}], zeros before 0
        p, T = self.config.order, s.shape[1]
        padded = F.pad(s, (p, 0))  # (B, T + p)
        return padded[:, :T + p - 1].unfold(1, p, 1).flip(-1)

    def values(self, x):  # (B, T) data -> the real values the regression runs on
        if self.spec.levels is not None and self.config.companding == "mu-law":
            return self.input_hook(mu_law_decode(x, self.spec.levels))
        return self.scale_input(x)

    def bin_edges(self, device):  # (K-1,) boundaries between neighbouring levels
        K = self.spec.levels
        y = (torch.arange(K - 1, device=device) + 0.5) * (2.0 / (K - 1)) - 1.0  # in [-1, 1]
        if self.config.companding == "mu-law":
            mu = K - 1
            return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu  # mu-law expansion
        return y

    def means(self, x):  # (B, T)
        return self.lags(self.values(x)) @ self.coefficients + self.bias

    def conditionals(self, x, **cond):
        mean = self.means(x)  # (B, T)
        log_std = self.log_std.expand_as(mean)
        if self.spec.levels is None:
            return GaussianMixture(torch.zeros_like(mean).unsqueeze(-1), mean.unsqueeze(-1),
                                   log_std.unsqueeze(-1))
        return Categorical(discretised_gaussian_logits(mean, log_std, self.bin_edges(x.device)))

    def log_prob(self, x, reduce: bool = True, **cond):
        """As the base class, but for discrete data only the observed bin's mass is
        computed (the base would build all K bins per position: 256× the work)."""
        if self.spec.levels is None:
            return super().log_prob(x, reduce, **cond)
        mean, edges, K = self.means(x), self.bin_edges(x.device), self.spec.levels
        x = x.long()
        inv = torch.exp(-self.log_std)
        upper = (edges[x.clamp(max=K - 2)] - mean) * inv  # finite edges only: no NaN gradients
        lower = (edges[(x - 1).clamp(min=0)] - mean) * inv
        terms = torch.where(x == 0, torch.special.log_ndtr(upper),
                            torch.where(x == K - 1, torch.special.log_ndtr(-lower),
                                        _log_diff_ndtr(upper, lower)))
        return terms.flatten(1).sum(1) if reduce else terms

    def make_stepper(self, x, **cond):
        return _LinearARStepper(self)

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> LinearAR:
        """Least squares for (a, c) on every position of ``data`` (N, T); sigma = residual RMS."""
        s = self.values(torch.as_tensor(data).to(self.device)).double()  # (N, T)
        design = torch.cat([self.lags(s), torch.ones_like(s).unsqueeze(-1)], -1).reshape(-1, self.config.order + 1)
        target = s.reshape(-1, 1)
        solution = torch.linalg.lstsq(design, target, driver="gelsd" if s.device.type == "cpu" else None).solution
        residual = target - design @ solution
        g = self.config.gain
        rms = residual.pow(2).mean().sqrt().clamp(min=math.exp(self.config.min_log_std))
        self.raw_coefficients.copy_(solution[:-1, 0].float() / g)
        self.raw_bias.copy_(solution[-1, 0].float() / g)
        self.raw_log_std.copy_(torch.log(rms).float() / g)
        return self


class _LinearARStepper(Stepper):
    """Generation in O(p) per value: the mean at t needs only the last p values
    (the naive path recomputes every position's mean and all K bins each step)."""

    def __init__(self, model: LinearAR):
        super().__init__(model)
        self.edges = model.bin_edges(model.device) if model.spec.levels is not None else None

    def conditional(self, index: int, x):
        m, p = self.model, self.model.config.order
        window = x.flatten(1)[:, max(0, index - p): index + 1]  # (n, <= p + 1), last one unknown
        mean = m.means(window)[:, -1]  # (n,), the same arithmetic as the full pass
        log_std = m.log_std.expand_as(mean)
        if self.edges is None:
            return GaussianMixture(torch.zeros_like(mean).unsqueeze(-1), mean.unsqueeze(-1),
                                   log_std.unsqueeze(-1))
        return Categorical(discretised_gaussian_logits(mean, log_std, self.edges))
