"""Receptive-field growth: which input pixels each layer's output at one pixel depends on.

For a model that names its layers (:meth:`ARModel.feature_layers
<arstudio.models.base.ARModel.feature_layers>`), :func:`layer_fields` runs the
model's own forward pass once with a forward hook on every named layer and the
input hook's leaf (the same probe as :mod:`arstudio.inspect.receptive_field`),
then differentiates, layer by layer, that layer's output at the chosen pixel
with respect to the input. The last entry is the model's output itself: the
log-probability term of the pixel's first channel, exactly
:func:`~arstudio.inspect.receptive_field.receptive_field`.

A layer's output at a pixel is a vector of features; one backward pass per
layer differentiates a fixed random projection of it, ``Σ_c g_c · out_c`` with
``g`` drawn once (seeded), rather than one pass per channel. Its support (the
pixels with a non-zero gradient) is the union of the channels' supports, except
on a set of projections of measure zero, and that support is what the view
draws; the strength shown is ``|Σ_c g_c ∂out_c/∂x|`` summed over the input's
channels. Feature maps smaller than the image (PixelCNN++'s coarser scales) are
read at the pixel's place on that scale, ``(r·h//H, c·w//W)``; token sequences
(the Image Transformer) at the positions that hold the pixel's channels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class LayerField:
    name: str  # the layer, as the model names it ("output" for the log-probability term)
    field: np.ndarray  # (H, W) gradient strength; > 0 where the pixel reaches the output

    @property
    def reach(self) -> np.ndarray:
        return self.field > 0

    @property
    def size(self) -> int:
        return int(self.reach.sum())


def _pick(out, part):
    return out if part is None else out[part]


def _at_pixel(model, feats: torch.Tensor, r: int, c: int) -> torch.Tensor:
    """The features of one pixel of example 0: (ch,) for a map, (k, d) for tokens."""
    C, H, W = model.spec.shape
    if feats.dim() == 4:  # (B, ch, h, w)
        h, w = feats.shape[-2:]
        return feats[0, :, r * h // H, c * w // W]
    if feats.dim() == 3:  # (B, D, d), position t holds dimension order[t]
        rank = torch.empty(C * H * W, dtype=torch.long)
        rank[model.order] = torch.arange(C * H * W)
        dims = torch.arange(C) * H * W + r * W + c
        return feats[0, rank[dims].to(feats.device)]
    raise ValueError(f"a layer's output must be (B, ch, h, w) or (B, D, d), got {tuple(feats.shape)}")


def layer_fields(model, x: torch.Tensor, pixel: tuple[int, int], seed: int = 0,
                 **cond) -> list[LayerField]:
    """The receptive field of every named layer's output at ``pixel`` = (row, col), input up,
    then the model's output (the log-probability term of the pixel's first channel).
    ``x`` is one example (C, H, W); extra keyword arguments (``label=``) go to the model."""
    if len(model.spec.shape) != 3:
        raise ValueError(f"receptive-field growth is for images, not {model.spec.describe()}")
    if tuple(x.shape) != tuple(model.spec.shape):
        raise ValueError(f"x must be one example of shape {model.spec.shape}, got {tuple(x.shape)}")
    layers = model.feature_layers()
    if not layers:
        raise ValueError(f"{model.registry_name} names no layers (feature_layers)")
    C, H, W = model.spec.shape
    r, c = pixel
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"pixel {pixel} outside the {H}×{W} image")
    outputs: list = [None] * len(layers)
    hooks = []
    for i, (_, module, part) in enumerate(layers):
        def hook(_m, _inp, out, i=i, part=part):
            if outputs[i] is None:  # the first call: a module reused later is read once
                outputs[i] = _pick(out, part)
        hooks.append(module.register_forward_hook(hook))
    leaves: list = []
    was_training = model.training
    model.eval()
    model._probe = leaves
    gen = torch.Generator().manual_seed(seed)
    try:
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            terms = model.log_prob(x.unsqueeze(0).to(model.device), reduce=False, **cond)
            terms = terms.reshape(1, -1)
            if not leaves:
                raise ValueError(f"{type(model).__name__} never calls input_hook")
            targets = []
            for (name, _, _), out in zip(layers, outputs):
                if out is None:
                    raise ValueError(f"layer {name} did not run in the forward pass")
                feats = _at_pixel(model, out, r, c)
                g = torch.randn(feats.shape, generator=gen).to(feats.device, feats.dtype)
                targets.append((name, (feats * g).sum()))
            targets.append(("output", terms[0, r * W + c]))
            inputs = [leaf for leaf, _, _ in leaves]
            fields = []
            for k, (name, target) in enumerate(targets):
                grads = torch.autograd.grad(target, inputs, allow_unused=True,
                                            retain_graph=k + 1 < len(targets))
                fields.append(LayerField(name, _to_map(model, leaves, grads)))
    finally:
        for h in hooks:
            h.remove()
        del model._probe
        model.train(was_training)
    return fields


def _to_map(model, leaves, grads) -> np.ndarray:
    """Gradients at the input leaves -> (H, W) strength (summed over channels/features)."""
    C, H, W = model.spec.shape
    D = C * H * W
    total = torch.zeros(D)
    for (leaf, feature_axis, shift), grad in zip(leaves, grads):
        if grad is None:
            continue
        g = grad[:1].detach().abs().float()
        if feature_axis is not None:
            g = g.sum(feature_axis)
        g = g.reshape(-1).cpu()
        if g.numel() != D:
            continue
        total[: D - shift] += g[shift:]
    return total.view(C, H, W).sum(0).numpy()


def raster_before(shape: tuple[int, int], pixel: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels strictly before ``pixel`` in raster order (the full context)."""
    H, W = shape
    r, c = pixel
    idx = np.arange(H * W).reshape(H, W)
    return idx < r * W + c
