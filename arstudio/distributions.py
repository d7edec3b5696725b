"""Per-dimension conditional distributions, batched over every dimension.

A model's ``conditionals(x)`` returns one of these with batch shape
``(B, *spec.shape)``: entry ``[b, i]`` is p(x_i | x_<i) for example b,
computed by teacher forcing. The same objects drive sampling (``sample``),
the likelihood (``log_prob``) and the inspector (``probs`` / ``density``).

Random numbers are drawn on the CPU from the caller's ``torch.Generator`` and
then moved to the parameters' device, so a seed gives the same samples on
CPU, CUDA and MPS, and naive and cached samplers that draw in the same order
give identical results.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cpu_rand(shape, generator=None, device=None) -> torch.Tensor:
    return torch.rand(shape, generator=generator).to(device)


def cpu_randn(shape, generator=None, device=None) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(device)


class Conditionals:
    """Base: ``params`` all share a batch shape and carry a trailing event axis."""

    #: names of the tensors that make up the distribution, in order
    param_names: tuple[str, ...] = ()

    def params(self) -> list[torch.Tensor]:
        return [getattr(self, n) for n in self.param_names]

    def _rebuild(self, tensors):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for n, t in zip(self.param_names, tensors):
            setattr(new, n, t)
        return new

    @property
    def batch_shape(self) -> torch.Size:
        return self.params()[0].shape[:-1]

    def flatten(self) -> Conditionals:
        """(B, *shape) -> (B, D): dimension i of the flattened data."""
        b = self.batch_shape[0]
        return self._rebuild([p.reshape(b, -1, p.shape[-1]) for p in self.params()])

    def at(self, index: int) -> Conditionals:
        """The distribution of flattened dimension ``index``: batch shape (B,)."""
        return self._rebuild([p[:, index] for p in self.flatten().params()])

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, temperature: float = 1.0, generator=None) -> torch.Tensor:
        raise NotImplementedError

    # --- for the inspector ---------------------------------------------------
    discrete = True

    def probs(self) -> torch.Tensor:
        """Discrete: probabilities over the levels, shape (*batch, K)."""
        raise NotImplementedError

    def mean(self) -> torch.Tensor:
        raise NotImplementedError


class Categorical(Conditionals):
    """K-way softmax over the levels. Binary data use K = 2."""

    param_names = ("logits",)

    def __init__(self, logits: torch.Tensor):
        self.logits = logits  # (*batch, K)

    @classmethod
    def from_bernoulli_logits(cls, logit: torch.Tensor) -> Categorical:
        """A sigmoid output sigma(l) as the 2-way softmax over [0, l]."""
        return cls(torch.stack([torch.zeros_like(logit), logit], dim=-1))

    @property
    def levels(self) -> int:
        return self.logits.shape[-1]

    def log_prob(self, x):
        logp = F.log_softmax(self.logits.float(), dim=-1)
        return logp.gather(-1, x.long().unsqueeze(-1)).squeeze(-1)

    def probs(self):
        return F.softmax(self.logits.float(), dim=-1)

    def mean(self):
        levels = torch.arange(self.levels, device=self.logits.device, dtype=torch.float32)
        return (self.probs() * levels).sum(-1)

    def sample(self, temperature=1.0, generator=None):
        # inverse CDF with one uniform per entry: reproducible across devices
        probs = F.softmax(self.logits.float() / max(temperature, 1e-6), dim=-1)
        u = cpu_rand(probs.shape[:-1], generator, probs.device).unsqueeze(-1)
        cdf = probs.cumsum(-1)
        idx = (cdf < u * cdf[..., -1:]).sum(-1)
        return idx.clamp_(max=self.levels - 1)


class GaussianMixture(Conditionals):
    """Mixture of M Gaussians for real-valued data (RNADE, real sequences)."""

    param_names = ("mix_logits", "means", "log_stds")
    discrete = False

    def __init__(self, mix_logits, means, log_stds):
        self.mix_logits, self.means, self.log_stds = mix_logits, means, log_stds  # (*batch, M)

    def log_prob(self, x):
        x = x.float().unsqueeze(-1)
        log_stds = self.log_stds.float()
        z = (x - self.means.float()) * torch.exp(-log_stds)
        comp = -0.5 * z * z - log_stds - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(F.log_softmax(self.mix_logits.float(), -1) + comp, dim=-1)

    def density(self, grid: torch.Tensor) -> torch.Tensor:
        """Density at the points ``grid`` (G,), shape (*batch, G)."""
        g = grid.to(self.means.device).float()
        x = g.view(*([1] * len(self.batch_shape)), -1, 1)
        d = type(self)(*(p.unsqueeze(-2) for p in self.params()))
        return d.log_prob(x.squeeze(-1).expand(*self.batch_shape, g.numel())).exp()

    def mean(self):
        return (F.softmax(self.mix_logits.float(), -1) * self.means.float()).sum(-1)

    def sample(self, temperature=1.0, generator=None):
        # temperature sharpens the mixing weights and narrows each component
        t = max(temperature, 1e-6)
        comp = Categorical(self.mix_logits / t).sample(1.0, generator)
        mu = self.means.float().gather(-1, comp.unsqueeze(-1)).squeeze(-1)
        sd = self.log_stds.float().exp().gather(-1, comp.unsqueeze(-1)).squeeze(-1)
        return mu + sd * math.sqrt(t) * cpu_randn(mu.shape, generator, mu.device)


class DiscretizedLogisticMixture(Conditionals):
    """Discretized mixture of logistics over K levels (PixelCNN++, Salimans 2017).

    Level k of K is the bin centred on ``-1 + 2k/(K-1)`` with half-width
    ``1/(K-1)``; the lowest bin takes all mass below it and the highest all
    mass above, so the K probabilities sum to one exactly.
    """

    param_names = ("mix_logits", "means", "log_scales")

    def __init__(self, mix_logits, means, log_scales, levels: int):
        self.mix_logits, self.means, self.log_scales = mix_logits, means, log_scales
        self.levels_ = int(levels)

    @property
    def levels(self) -> int:
        return self.levels_

    def _component_log_probs(self) -> torch.Tensor:
        """log P_m(level k) of each logistic component m: (*batch, K, M)."""
        K = self.levels
        centres = torch.linspace(-1.0, 1.0, K, device=self.means.device)
        half = 1.0 / (K - 1)
        mu = self.means.float().unsqueeze(-2)  # (*batch, 1, M)
        inv_s = torch.exp(-self.log_scales.float().clamp(min=-7.0)).unsqueeze(-2)
        c = centres.view(*([1] * len(self.batch_shape)), K, 1)
        upper = (c + half - mu) * inv_s
        lower = (c - half - mu) * inv_s
        # middle bins: log(sigmoid(upper) - sigmoid(lower)), written from the
        # tail the bin is in so the difference never cancels to zero
        left = F.logsigmoid(upper) + _log1mexp(F.logsigmoid(lower) - F.logsigmoid(upper))
        right = F.logsigmoid(-lower) + _log1mexp(F.logsigmoid(-upper) - F.logsigmoid(-lower))
        mid = torch.where(upper + lower < 0, left, right)
        log_cdf_upper = F.logsigmoid(upper)
        log_1m_cdf_lower = F.logsigmoid(-lower)
        is_first = torch.arange(K, device=mu.device).view_as(c) == 0
        is_last = torch.arange(K, device=mu.device).view_as(c) == K - 1
        return torch.where(is_first, log_cdf_upper, torch.where(is_last, log_1m_cdf_lower, mid))

    def components(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The mixture's parts: weights π (*batch, M) and each component's probabilities
        over the K levels (*batch, K, M); Σ_m π_m · P_m(k) is :meth:`probs` (before the
        round-off renormalisation)."""
        return F.softmax(self.mix_logits.float(), -1), self._component_log_probs().exp()

    def _level_log_probs(self) -> torch.Tensor:
        """log P(level k) for every k: (*batch, K)."""
        comp = self._component_log_probs()
        logpi = F.log_softmax(self.mix_logits.float(), -1).unsqueeze(-2)
        out = torch.logsumexp(logpi + comp, dim=-1)
        # the bins telescope to exactly 1; renormalising removes float round-off
        return out - torch.logsumexp(out, dim=-1, keepdim=True)

    def log_prob(self, x):
        return self._level_log_probs().gather(-1, x.long().unsqueeze(-1)).squeeze(-1)

    def probs(self):
        return self._level_log_probs().exp()

    def mean(self):
        levels = torch.arange(self.levels, device=self.means.device, dtype=torch.float32)
        return (self.probs() * levels).sum(-1)

    def sample(self, temperature=1.0, generator=None):
        return Categorical(self._level_log_probs() / max(temperature, 1e-6)).sample(1.0, generator)


def _log1mexp(a: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(a)) for a < 0, accurate near 0 and far below it."""
    a = a.clamp(max=-1e-7)
    return torch.where(a > -0.6931, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


# --- mu-law companding for audio ---------------------------------------------

def mu_law_encode(audio: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Float audio in [-1, 1] -> integer levels 0..levels-1."""
    mu = levels - 1
    a = audio.clamp(-1, 1)
    y = torch.sign(a) * torch.log1p(mu * a.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(codes: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Integer levels -> float audio in [-1, 1]."""
    mu = levels - 1
    y = codes.float() / mu * 2 - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu
