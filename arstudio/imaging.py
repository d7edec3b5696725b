"""Sample grids: integer images -> one uint8 RGB array, and PNG files."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


def to_uint8(x: torch.Tensor, levels: int | None) -> np.ndarray:
    """(N, C, H, W) levels or reals -> (N, H, W, 3) uint8."""
    x = x.detach().float().cpu()
    if levels is None:  # real-valued: stretch to the batch's range
        lo, hi = x.min(), x.max()
        x = (x - lo) / max(float(hi - lo), 1e-8)
    else:
        x = x / (levels - 1)
    arr = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def grid(x: torch.Tensor, levels: int | None, cols: int | None = None, pad: int = 1,
         scale: int = 1) -> np.ndarray:
    """Tile (N, C, H, W) images into one (rows*H', cols*W', 3) uint8 array."""
    imgs = to_uint8(x, levels)
    n, h, w, _ = imgs.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 64, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = imgs[i]
    if scale > 1:
        out = out.repeat(scale, axis=0).repeat(scale, axis=1)
    return out


def save_png(array: np.ndarray, path) -> Path:
    from PIL import Image

    from arstudio.atomic import atomic_write

    path = Path(path)
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"))
    return path


def samples_grid(samples: torch.Tensor, spec, scale: int | None = None) -> np.ndarray:
    """A grid of samples of any modality (sequences as one row each), (H, W, 3) uint8."""
    x = samples
    if spec.modality != "image":
        x = x.view(len(x), 1, 1, -1)
    if scale is None:
        scale = max(1, 128 // max(x.shape[-2], x.shape[-1]))
    return grid(x, spec.levels, scale=scale)


def samples_png(samples: torch.Tensor, spec, path, scale: int | None = None) -> Path:
    """Save a grid of samples of any modality (sequences as one row each)."""
    return save_png(samples_grid(samples, spec, scale), path)
