"""PixelCNN++: discretized logistic mixture likelihood and a U-net of gated resnets.

Salimans, Karpathy, Chen, Kingma, "PixelCNN++: Improving the PixelCNN with
Discretized Logistic Mixture Likelihood and Other Modifications", ICLR 2017.

Two streams without blind spot: ``u`` sees the rows above, ``ul`` the rows
above and the pixels to the left. Gated resnets (concat_elu, dropout,
a ⊙ σ(b)) at full resolution and after strided down-sampling, then
transposed-convolution up-sampling with shortcut connections from the
down pass. The network sees only earlier pixels; the colour channels of a
pixel are coupled in the output: one mixture over the whole pixel with
means μ_G + α x_R and μ_B + β x_R + γ x_G. Written as per-channel
conditionals, channel g's mixture weights are the posterior of the
component given the channels before it, which makes the product of the
per-channel terms exactly the paper's joint likelihood.

Cached generation (``make_stepper``) traces ``features`` through
:class:`DenseOps`' tracing twin and computes each layer's values, at that
layer's own resolution, as soon as the data they depend on are known
(see :mod:`arstudio.models._pixelcnn_pp_cache`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import DiscretizedLogisticMixture
from arstudio.models._pixel_common import RasterModel
from arstudio.models._pixelcnn_pp_cache import PixelCNNppStepper
from arstudio.models.registry import PIXELCNN_FAMILY, register_model
from arstudio.nn import CausalConv2d, gated_linear


def concat_elu(x):  # (B, c, H, W) -> (B, 2c, H, W)
    return F.elu(torch.cat([x, -x], 1))


class DenseOps:
    """The U-net's operations on whole (B, ch, H, W) tensors.

    ``features`` is written once against these; the cached sampler
    (:mod:`arstudio.models._pixelcnn_pp_cache`) passes a tracing version that
    records the same wiring as a graph it can evaluate position by position.
    """

    conv = staticmethod(lambda layer, x: layer(x))
    concat_elu = staticmethod(concat_elu)
    add = staticmethod(lambda a, b: a + b)
    cat = staticmethod(lambda a, b: torch.cat([a, b], 1))
    elu = staticmethod(F.elu)
    dropout = staticmethod(lambda drop, x: drop(x))
    size = staticmethod(lambda x: tuple(x.shape[-2:]))

    @staticmethod
    def gated_residual(x, h):  # x + a ⊙ σ(b), (a, b) = the two halves of h
        return x + gated_linear(h)

    @staticmethod
    def grow(layer, x, height, width):  # 2×2 stride-2 transposed conv, cropped to the target
        return layer(x)[..., :height, :width]


DENSE = DenseOps()


class GatedResnet(nn.Module):
    """x + a ⊙ σ(b), (a, b) = conv(dropout(concat_elu(conv(concat_elu(x)) + nin(aux))))."""

    def __init__(self, ch, kernel, aux_ch, dropout):
        super().__init__()
        kw = kernel[1]
        self.conv1 = CausalConv2d(2 * ch, ch, kernel, kw // 2 if kw == 3 else kw - 1, "rows")
        self.conv2 = CausalConv2d(2 * ch, 2 * ch, kernel, self.conv1.anchor, "rows")
        self.aux = nn.Conv2d(2 * aux_ch, ch, 1) if aux_ch else None
        self.drop = nn.Dropout(dropout)

    def forward(self, x, aux=None, ops=DENSE):
        c = ops.conv(self.conv1, ops.concat_elu(x))
        if aux is not None:
            c = ops.add(c, ops.conv(self.aux, ops.concat_elu(aux)))
        h = ops.conv(self.conv2, ops.dropout(self.drop, ops.concat_elu(c)))
        return ops.gated_residual(x, h)


@register_model(
    "pixelcnn++",
    family=PIXELCNN_FAMILY,
    paper=("Salimans, Karpathy, Chen, Kingma, PixelCNN++: Improving the PixelCNN with "
           "Discretized Logistic Mixture Likelihood and Other Modifications, ICLR 2017"),
    summary=("Down-shifted and down-right-shifted streams (no blind spot), gated resnets "
             "with dropout in a U-net (strided down-sampling, transposed up-sampling, "
             "shortcuts), and a discretized logistic mixture per pixel with linear "
             "R -> G -> B coupling of the means."),
    factorisation="p(x) = prod over pixels (raster) of a DMoL p(R,G,B | x_<pixel)",
    presets={"tiny": {"channels": 8, "resnets": 1, "scales": 2, "mixtures": 2, "dropout": 0.0},
             "quick demo": {"channels": 32, "resnets": 1},
             "quality": {"channels": 96, "resnets": 3, "mixtures": 10}},
)
class PixelCNNpp(RasterModel):
    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # filters in both streams
        resnets: int = 2  # gated resnets per scale (down pass; +1 per lower scale going up)
        scales: int = 3  # resolutions: full, 1/2, 1/4, ...
        mixtures: int = 5  # logistic components per pixel
        dropout: float = 0.1  # inside each gated resnet, training only

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, F_, R, S = spec.shape[0], config.channels, config.resnets, config.scales
        d = config.dropout
        self.u_init = CausalConv2d(C, F_, (3, 3), 1, "above")  # two rows above
        self.ul_init = CausalConv2d(C, F_, (2, 3), 1, "A")  # row above + pixel to the left

        def u_res(aux):
            return GatedResnet(F_, (2, 3), aux, d)

        def ul_res(aux):
            return GatedResnet(F_, (2, 2), aux, d)

        self.down_u = nn.ModuleList(u_res(0) for _ in range(S * R))
        self.down_ul = nn.ModuleList(ul_res(F_) for _ in range(S * R))
        self.shrink_u = nn.ModuleList(CausalConv2d(F_, F_, (2, 3), 1, "rows", stride=2)
                                      for _ in range(S - 1))
        self.shrink_ul = nn.ModuleList(CausalConv2d(F_, F_, (2, 2), 1, "rows", stride=2)
                                       for _ in range(S - 1))
        n_up = R + (R + 1) * (S - 1)
        self.up_u = nn.ModuleList(u_res(F_) for _ in range(n_up))
        self.up_ul = nn.ModuleList(ul_res(2 * F_) for _ in range(n_up))
        # non-overlapping 2×2 transposed convs: output (2r+a, 2c+b) reads input (r, c) only,
        # which never depends on data at or after (2r, 2c): causal
        self.grow_u = nn.ModuleList(nn.ConvTranspose2d(F_, F_, 2, stride=2) for _ in range(S - 1))
        self.grow_ul = nn.ModuleList(nn.ConvTranspose2d(F_, F_, 2, stride=2) for _ in range(S - 1))
        self.pairs = [(g, j) for g in range(C) for j in range(g)]  # coupling coefficients
        M = config.mixtures
        self.out = nn.Conv2d(F_, M * (1 + 2 * C + len(self.pairs)), 1)

    def make_stepper(self, x, **cond):
        """Cached generation through the whole U-net (see _pixelcnn_pp_cache)."""
        return PixelCNNppStepper(self, x)

    def feature_layers(self):
        """The up-left stream (the one the output reads) in the order ``features`` runs it;
        the coarser scales' maps are smaller than the image."""
        R, S = self.config.resnets, self.config.scales
        out = [("up-left input", self.ul_init, None)]
        for scale in range(S):
            out += [(f"down {scale + 1}.{i + 1}", self.down_ul[scale * R + i], None) for i in range(R)]
            if scale < S - 1:
                out.append((f"shrink {scale + 1}", self.shrink_ul[scale], None))
        k = 0
        for scale in range(S):
            for i in range(R if scale == 0 else R + 1):
                out.append((f"up {scale + 1}.{i + 1}", self.up_ul[k], None))
                k += 1
        return out

    def features(self, s, ops=DENSE):  # s (B, C, H, W) scaled data -> (B, F, H, W)
        R, S = self.config.resnets, self.config.scales
        u, ul = ops.conv(self.u_init, s), ops.conv(self.ul_init, s)
        us, uls = [u], [ul]
        for scale in range(S):
            for i in range(scale * R, (scale + 1) * R):
                u = self.down_u[i](u, ops=ops)
                ul = self.down_ul[i](ul, u, ops=ops)
                us.append(u)
                uls.append(ul)
            if scale < S - 1:
                u, ul = ops.conv(self.shrink_u[scale], u), ops.conv(self.shrink_ul[scale], ul)
                us.append(u)
                uls.append(ul)
        u, ul = us.pop(), uls.pop()
        k = 0
        for scale in range(S):
            for _ in range(R if scale == 0 else R + 1):
                u = self.up_u[k](u, us.pop(), ops=ops)
                ul = self.up_ul[k](ul, ops.cat(u, uls.pop()), ops=ops)
                k += 1
            if scale < S - 1:
                H, W = ops.size(us[-1])
                u = ops.grow(self.grow_u[scale], u, H, W)
                ul = ops.grow(self.grow_ul[scale], ul, H, W)
        return ops.elu(ul)

    def conditionals(self, x, **cond):
        B, (_, H, W), M = x.shape[0], self.spec.shape, self.config.mixtures
        s = self.scale_input(x)  # (B, C, H, W), equal to the DMoL bin centres
        p = self.out(self.features(s)).view(B, -1, M, H, W).permute(0, 3, 4, 1, 2)  # (B,H,W,.,M)
        per_pixel = self.pixel_mixture(p, s.permute(0, 2, 3, 1), x.permute(0, 2, 3, 1))
        # (B, H, W, C, M) -> (B, C, H, W, M)
        mix, mu, log_scales = (t.permute(0, 3, 1, 2, 4) for t in per_pixel)
        return DiscretizedLogisticMixture(mix, mu, log_scales, self.spec.levels)

    def pixel_mixture(self, p, s, x):
        """Per-channel mixture parameters of whole pixels, each (*batch, C, M).

        p (*batch, 1 + 2C + pairs, M) the output head at those pixels, s and x
        (*batch, C) their scaled and raw data (channel g's terms read channels < g).
        Shared by teacher forcing and the cached sampler (one pixel at a time).
        """
        C = self.spec.shape[0]
        logits, means, log_scales = p[..., 0, :], p[..., 1: 1 + C, :], p[..., 1 + C: 1 + 2 * C, :]
        coeffs = torch.tanh(p[..., 1 + 2 * C:, :])  # (*batch, pairs, M)
        xs = s.unsqueeze(-1)  # (*batch, C, 1)
        mix, mu = [], []
        weight = logits  # log π_m + Σ_{j<g} log p(x_j | m, x_<j): component posterior
        for g in range(C):
            m_g = means[..., g, :] + sum(coeffs[..., k, :] * xs[..., j, :]
                                         for k, (gg, j) in enumerate(self.pairs) if gg == g)
            mix.append(weight)
            mu.append(m_g)
            if g < C - 1:  # component-wise log-likelihood of the observed channel g
                single = DiscretizedLogisticMixture(torch.zeros_like(m_g).unsqueeze(-1),
                                                    m_g.unsqueeze(-1),
                                                    log_scales[..., g, :].unsqueeze(-1),
                                                    self.spec.levels)
                weight = weight + single.log_prob(x[..., g].unsqueeze(-1).expand_as(m_g))
        return torch.stack(mix, -2), torch.stack(mu, -2), log_scales
