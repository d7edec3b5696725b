"""A latent autoregressive model: a VQ-VAE and an AR prior over its code grid, one object.

    p(x, z) = p(z) p(x | z),   p(z) = prod_i p(z_i | z_<i)

The prior is any registered image AR model (PixelCNN, Gated PixelCNN, PixelSNAIL, the
Image Transformer, ...) trained on the frozen encoder's codes (data ``vqcodes:REF``); its
checkpoint names that data, so :func:`load_latent` finds the VQ-VAE from the prior alone.
Sampling runs the prior code by code and decodes; completion maps a pixel mask to the
codes it touches and lets the prior fill those in; the description length of an image is
the prior's bits for its codes plus the decoder's -log2 p(x | codes).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass
class LatentStep:
    """One code generated: ``codes`` (n, h, w) so far, ``images`` (n, C, H, W) decoded."""

    step: int
    index: int  # flattened code position just generated
    total: int
    codes: torch.Tensor
    images: torch.Tensor


class LatentAR:
    def __init__(self, vqvae, prior):
        if tuple(prior.spec.shape) != (1, *vqvae.code_shape) or prior.spec.levels != vqvae.config.codes:
            raise ValueError(f"the prior models {prior.spec.describe()} but the VQ-VAE's codes are "
                             f"{vqvae.code_spec.describe()}")
        self.vqvae, self.prior = vqvae.eval(), prior.eval()

    @property
    def spec(self):
        return self.vqvae.spec

    @property
    def code_shape(self) -> tuple[int, int]:
        return self.vqvae.code_shape

    @property
    def factor(self) -> int:
        """Pixels per code along each side."""
        return 2 ** self.vqvae.config.downsample

    def code_region(self, index: int) -> tuple[slice, slice]:
        """The (rows, columns) of pixels that code ``index`` stands for."""
        _h, w = self.code_shape
        r, c, f = index // w, index % w, self.factor
        return slice(r * f, (r + 1) * f), slice(c * f, (c + 1) * f)

    # --- sampling and completion ------------------------------------------------------
    @torch.no_grad()
    def sample_steps(self, n: int, known_codes=None, code_mask=None, temperature: float = 1.0,
                     generator=None, decode_every: int = 1) -> Iterator[LatentStep]:
        """The prior's codes one at a time, decoded every ``decode_every`` codes (and at the end)."""
        h, w = self.code_shape
        known = None if known_codes is None else torch.as_tensor(known_codes).view(-1, 1, h, w)
        mask = None if code_mask is None else torch.as_tensor(code_mask).bool().view(-1, 1, h, w)
        for s in self.prior.sample_steps(n, known=known, mask=mask, temperature=temperature,
                                         generator=generator):
            codes = s.x[:, 0]
            last = s.step == s.total - 1
            if last or s.step % decode_every == 0:
                yield LatentStep(s.step, s.index, s.total, codes.clone(), self.vqvae.decode_image(codes))

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator=None) -> torch.Tensor:
        """n images (n, C, H, W): prior -> codes -> decoder."""
        last = None
        for last in self.sample_steps(n, temperature=temperature, generator=generator,
                                      decode_every=10**9):
            pass
        return last.images

    def code_mask_for(self, pixel_known) -> torch.Tensor:
        """(H, W) or (C, H, W) known-pixel mask -> (h, w): a code is known only if every
        pixel of its region is known."""
        m = torch.as_tensor(pixel_known).bool()
        if m.dim() == 3:
            m = m.all(0)
        h, w = self.code_shape
        f = self.factor
        return m.view(h, f, w, f).all(3).all(1)

    @torch.no_grad()
    def complete_steps(self, image, pixel_known, n: int = 1, temperature: float = 1.0,
                       generator=None, decode_every: int = 1) -> Iterator[LatentStep]:
        """Complete ``image`` (C, H, W) where ``pixel_known`` is false, in code space: the
        codes covering unknown pixels become unknown, the prior fills them in, and the
        decoder draws the result (known pixels are kept as they were)."""
        image = torch.as_tensor(image).long()
        codes = self.vqvae.encode(image.unsqueeze(0))[0].cpu()  # (h, w)
        cmask = self.code_mask_for(pixel_known)
        keep = torch.as_tensor(pixel_known).bool().expand_as(image).to(self.vqvae.device)
        for s in self.sample_steps(n, codes, cmask, temperature, generator, decode_every):
            s.images = torch.where(keep, image.to(keep.device), s.images)
            yield s

    # --- inspection -------------------------------------------------------------------------
    @torch.no_grad()
    def code_conditional(self, codes, index: int) -> torch.Tensor:
        """p(z_index | z_<index) over the codebook, (K,), for one code grid (h, w)."""
        grid = torch.as_tensor(codes).view(1, 1, *self.code_shape).to(self.prior.device)
        return self.prior.conditionals(grid).at(index).probs()[0]

    @torch.no_grad()
    def decode_entry(self, k: int) -> torch.Tensor:
        """Codebook entry ``k`` decoded alone (a 1x1 code grid): (C, f, f) levels."""
        return self.vqvae.decode_image(torch.tensor([[[k]]], device=self.vqvae.device))[0]

    @torch.no_grad()
    def description_length(self, images, batch_size: int = 256) -> dict:
        """Bits per image: the prior's for the codes, the decoder's for the pixels, and both."""
        prior_nats = recon_nats = 0.0
        for i in range(0, len(images), batch_size):
            xb = images[i:i + batch_size].to(self.vqvae.device)
            codes = self.vqvae.encode(xb)
            prior_nats += -self.prior.log_prob(codes.unsqueeze(1).to(self.prior.device)).double().sum().item()
            recon_nats += -self.vqvae.decode(codes).log_prob(xb).double().sum().item()
        n, ln2 = len(images), math.log(2)
        h, w = self.code_shape
        return {"prior_bits": prior_nats / n / ln2, "recon_bits": recon_nats / n / ln2,
                "total_bits": (prior_nats + recon_nats) / n / ln2,
                "bits_per_code": prior_nats / n / ln2 / (h * w),
                "bits_per_dim": (prior_nats + recon_nats) / n / ln2 / self.spec.num_dims}
