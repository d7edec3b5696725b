"""VQ-VAE: a convolutional autoencoder with a discrete latent grid, for an AR prior.

van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning",
NeurIPS 2017. The encoder maps an image to a grid of vectors z_e (each of ``code_dim``
numbers, ``downsample`` halvings smaller than the image); each is replaced by its nearest
codebook entry e_k (k in 0..K-1, K = ``codes``), and the decoder maps the grid of entries
back to a distribution over the image's levels:

    x (B, C, H, W) -> z_e (B, D, h, w) -> k = argmin_j |z_e - e_j| (B, h, w) -> e_k -> p(x | k)

Training minimises -log p(x | e_k) + beta |z_e - sg(e_k)|^2 (the commitment loss), with the
gradient copied straight through the quantiser. The codebook is not learnt by gradient: it
follows exponential moving averages of the encoder outputs assigned to each code (the
paper's appendix, decay ``decay``), and a code that has gone unused (its average count
below ``restart_below`` of a fair share) is restarted on a random encoder output of the
batch, so no part of the codebook stays dead.

The decoder's likelihood is discrete (a softmax over the levels of each pixel), so the
description length of an image is exact in bits: the prior's bits for its codes plus
-log2 p(x | codes). This module's ``log_prob`` is that reconstruction term alone: the
VQ-VAE is not an autoregressive model of x, and declares ``autoregressive = False`` (the
shared contract tests run on the prior over codes instead; see
:mod:`arstudio.models.latent`). Its own ``sample`` draws codes independently from their
training frequencies (a factorised prior), to compare with an AR prior.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel, SampleStep
from arstudio.models.registry import LATENT_MODELS, register_model


class _Residual(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(ch, ch, 1))

    def forward(self, x):
        return x + self.body(x)


@register_model(
    "vqvae",
    family=LATENT_MODELS,
    paper="van den Oord, Vinyals & Kavukcuoglu, Neural Discrete Representation Learning, NeurIPS 2017",
    summary=("A convolutional autoencoder whose latent is a small grid of codebook indices "
             "(EMA codebook, dead codes restarted, commitment loss). Train it first; then any "
             "image AR model trained on its codes (data 'vqcodes:...') is the prior, and the "
             "pair samples, completes and inspects images code by code."),
    factorisation="p(x, z) = p(z) p(x | z), p(z) = prod_i p(z_i | z_<i) (the prior, trained after)",
    presets={"tiny": {"channels": 8, "codes": 8, "code_dim": 4, "downsample": 1, "residuals": 0},
             "quick demo": {"channels": 32, "codes": 32, "code_dim": 8},
             "quality": {"channels": 64, "codes": 128, "code_dim": 16, "residuals": 2}},
)
class VQVAE(ARModel):
    autoregressive = False  # log_prob is log p(x | codes of x), not an AR likelihood of x
    config_renames = {"hidden": "channels"}  # checkpoints before the shared names

    @dataclass(frozen=True)
    class Config:
        channels: int = 32  # channels of the encoder and decoder
        codes: int = 32  # K: codebook entries, the prior's levels
        code_dim: int = 8  # D: numbers per codebook entry
        downsample: int = 2  # stride-2 layers: a 28x28 image gives a 7x7 code grid
        residuals: int = 1  # residual blocks at the code resolution, each side
        beta: float = 0.25  # weight of the commitment loss
        decay: float = 0.99  # EMA decay of the codebook statistics
        restart_below: float = 0.03  # restart a code whose EMA count < this x the fair share

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, L, ch, D = spec.shape[0], spec.levels, config.channels, config.code_dim
        if not 0 <= config.downsample <= max(spec.shape[1:]).bit_length():  # before 2**downsample
            raise ValueError(f"downsample {config.downsample} halves a {spec.shape[1]}×{spec.shape[2]} image "
                             "to nothing")
        f = 2 ** config.downsample
        if spec.shape[1] % f or spec.shape[2] % f:
            raise ValueError(f"image sides {spec.shape[1:]} must be multiples of 2^downsample = {f}")
        enc, dec = [], []
        for i in range(config.downsample):  # (B, C, H, W) -> (B, ch, H/f, W/f)
            enc += [nn.Conv2d(C if i == 0 else ch, ch, 4, stride=2, padding=1), nn.ReLU()]
        if config.downsample == 0:
            enc += [nn.Conv2d(C, ch, 3, padding=1)]
        enc += [_Residual(ch) for _ in range(config.residuals)] + [nn.ReLU(), nn.Conv2d(ch, D, 1)]
        self.encoder = nn.Sequential(*enc)
        dec += [nn.Conv2d(D, ch, 3, padding=1)] + [_Residual(ch) for _ in range(config.residuals)]
        for _ in range(config.downsample):  # back up to (B, ch, H, W)
            dec += [nn.ReLU(), nn.ConvTranspose2d(ch, ch, 4, stride=2, padding=1)]
        dec += [nn.ReLU(), nn.Conv2d(ch, C * L, 1)]  # a softmax over the levels of each pixel
        self.decoder = nn.Sequential(*dec)
        K = config.codes
        self.register_buffer("codebook", torch.empty(K, D).normal_(0.0, 0.1))  # (K, D)
        # (K,) assignments, averaged; zero: the first batch restarts every code on its data
        self.register_buffer("ema_count", torch.zeros(K))
        self.register_buffer("ema_sum", self.codebook.clone())  # (K, D) assigned z_e, averaged
        self.register_buffer("usage", torch.full((K,), 1.0 / K))  # code frequencies (train)

    @property
    def code_shape(self) -> tuple[int, int]:
        f = 2 ** self.config.downsample
        return self.spec.shape[1] // f, self.spec.shape[2] // f

    @property
    def code_spec(self):
        """The prior's data: a K-level image of one channel, the code grid."""
        from arstudio.spec import DataSpec

        return DataSpec((1, *self.code_shape), self.config.codes)

    # --- encoder, quantiser, decoder -----------------------------------------------------
    def encode_continuous(self, x) -> torch.Tensor:
        return self.encoder(self.scale_input(x))  # (B, D, h, w)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> (B, h, w): index of the closest codebook entry."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])  # (B h w, D)
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
             + self.codebook.pow(2).sum(1))  # (B h w, K)
        return d.argmin(1).view(z.shape[0], *z.shape[2:])

    @torch.no_grad()
    def encode(self, x) -> torch.Tensor:
        """Images (B, C, H, W) -> code grids (B, h, w) of indices."""
        return self.nearest(self.encode_continuous(x.to(self.device)))

    def embed(self, codes) -> torch.Tensor:
        return self.codebook[codes.long()].permute(0, 3, 1, 2)  # (B, h, w) -> (B, D, h, w)

    def decode_from(self, zq) -> Categorical:
        B, _, h, w = zq.shape
        C, L = self.spec.shape[0], self.spec.levels
        logits = self.decoder(zq).view(B, C, L, *self.decoder_hw(h, w))
        return Categorical(logits.permute(0, 1, 3, 4, 2))  # (B, C, H, W, L)

    def decoder_hw(self, h, w):
        f = 2 ** self.config.downsample
        return h * f, w * f

    def decode(self, codes) -> Categorical:
        """Code grids (B, h, w) -> p(x | codes): a distribution per pixel."""
        return self.decode_from(self.embed(codes.to(self.device)))

    @torch.no_grad()
    def decode_image(self, codes) -> torch.Tensor:
        """Code grids -> images (B, C, H, W): each pixel's most likely level."""
        return self.decode(codes).logits.argmax(-1)

    # --- the protocol: reconstruction terms -------------------------------------------------
    def conditionals(self, x, **cond):
        """p(x_i | codes of x) for every pixel: the decoder given the encoder's codes."""
        return self.decode(self.encode(x))

    def loss(self, x, **cond):
        z = self.encode_continuous(x)  # (B, D, h, w)
        codes = self.nearest(z.detach())
        if self.training:
            self._ema_update(z.detach(), codes)
        e = self.embed(codes)
        commit = (z - e.detach()).pow(2).flatten(1).sum(1)  # (B,)
        zq = z + (e - z).detach()  # straight-through gradient to the encoder
        recon = -self.decode_from(zq).log_prob(x).flatten(1).sum(1)  # (B,) nats
        return (recon + self.config.beta * commit).mean()

    @torch.no_grad()
    def _ema_update(self, z, codes):
        K, decay = self.config.codes, self.config.decay
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])  # (N, D)
        onehot = F.one_hot(codes.reshape(-1), K).type_as(flat)  # (N, K)
        self.ema_count.mul_(decay).add_(onehot.sum(0), alpha=1 - decay)
        self.ema_sum.mul_(decay).add_(onehot.T @ flat, alpha=1 - decay)
        self.usage.copy_(self.ema_count / self.ema_count.sum())
        n = self.ema_count.sum()
        count = (self.ema_count + 1e-5) / (n + K * 1e-5) * n  # Laplace smoothing
        self.codebook.copy_(self.ema_sum / count.unsqueeze(1))
        fair = len(flat) / K  # assignments per code per batch if all were used alike
        dead = self.ema_count < self.config.restart_below * fair
        if dead.any():  # restart unused codes on random encoder outputs of this batch
            pick = torch.randint(0, len(flat), (int(dead.sum()),), device=flat.device)
            self.codebook[dead] = flat[pick]
            self.ema_sum[dead] = flat[pick] * fair
            self.ema_count[dead] = fair  # a fair share, so it has time to win assignments

    # --- figures ------------------------------------------------------------------------
    @torch.no_grad()
    def code_statistics(self, images, batch_size: int = 256) -> dict:
        """Reconstruction and codebook use on ``images`` (N, C, H, W)."""
        K, L = self.config.codes, self.spec.levels
        hist = torch.zeros(K, dtype=torch.float64)
        sq, nats, n = 0.0, 0.0, 0
        for i in range(0, len(images), batch_size):
            xb = images[i:i + batch_size].to(self.device)
            codes = self.encode(xb)
            hist += torch.bincount(codes.reshape(-1).cpu(), minlength=K).double()
            dist = self.decode(codes)
            nats += -dist.log_prob(xb).double().sum().item()
            scale = 1.0 / (L - 1)  # levels -> [0, 1]
            sq += ((dist.logits.argmax(-1) - xb).double() * scale).pow(2).sum().item()
            n += xb.numel()
        p = hist / hist.sum()
        entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
        mse = sq / n
        return {"mse": mse, "psnr": 10 * math.log10(1.0 / max(mse, 1e-12)),
                "recon_nats": nats / len(images), "code_perplexity": math.exp(entropy),
                "dead_codes": int((hist == 0).sum()), "codes": K}

    # --- a factorised prior for comparison ------------------------------------------------
    @torch.no_grad()
    def sample_steps(self, n, known=None, mask=None, temperature=1.0, generator=None,
                     naive=False, **cond):
        """Codes drawn independently from their training frequencies, decoded after each
        code; ``known``/``mask`` pixels are kept. One step per code of the grid."""
        h, w = self.code_shape
        logits = (self.usage.clamp_min(1e-12).log() / max(temperature, 1e-6)).cpu()
        u = torch.rand(n, h * w, generator=generator)
        codes = (logits.softmax(0).cumsum(0) < u.unsqueeze(-1)).sum(-1).clamp_(max=self.config.codes - 1)
        grid = torch.zeros(n, h * w, dtype=torch.long)
        for i in range(h * w):
            grid[:, i] = codes[:, i]
            x = self.decode_image(grid.view(n, h, w))
            if mask is not None:
                m = torch.as_tensor(mask, device=x.device).bool().expand_as(x)
                x = torch.where(m, torch.as_tensor(known, device=x.device).long().expand_as(x), x)
            yield SampleStep(i, i, h * w, x)
