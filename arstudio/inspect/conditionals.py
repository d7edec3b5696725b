"""What the model believed at one entry, and how surprised it is by each entry.

``pixel_conditional(model, x, index)`` is p(x_index | x_<index) for one
example: probabilities over the levels for discrete outputs (softmax or
discretized logistic mixture), or the density on a grid for real-valued
mixture outputs; for a discretized logistic mixture also its weights and
each component's probabilities over the levels. ``nll_map(model, x)`` is the per-entry surprise
-log2 p(x_i | x_<i) in bits, from ``log_prob(reduce=False)``, whose mean is
the bits/dim shown everywhere else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from arstudio.distributions import DiscretizedLogisticMixture


@dataclass
class PixelConditional:
    index: int  # flattened entry
    value: float  # the entry's current value in x
    log_prob: float  # log p(x_index = value | x_<index) in nats
    probs: np.ndarray | None = None  # discrete: (K,) probabilities over the levels
    grid: np.ndarray | None = None  # real-valued: (G,) points where the density is given
    density: np.ndarray | None = None  # real-valued: (G,) density on `grid`
    # a discretized logistic mixture (PixelCNN++): its weights (M,) and each component's
    # probabilities over the levels (K, M); probs = components @ weights
    weights: np.ndarray | None = None
    components: np.ndarray | None = None

    @property
    def discrete(self) -> bool:
        return self.probs is not None


@torch.no_grad()
def pixel_conditional(model, x: torch.Tensor, index: int, grid_points: int = 200,
                      **cond) -> PixelConditional:
    """p(x_index | x_<index) for one example ``x`` of the data's shape."""
    if tuple(x.shape) != tuple(model.spec.shape):
        raise ValueError(f"x must be one example of shape {model.spec.shape}, got {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        batch = x.unsqueeze(0).to(model.device)
        dist = model.conditionals(batch, **cond)
        value = batch.reshape(1, -1)[:, index]
        one = dist.at(index)  # batch (1,)
        log_prob = float(one.log_prob(value)[0])
        if isinstance(one, DiscretizedLogisticMixture):
            weights, parts = one.components()
            return PixelConditional(index, float(value[0]), log_prob,
                                    probs=one.probs()[0].float().cpu().numpy(),
                                    weights=weights[0].cpu().numpy(), components=parts[0].cpu().numpy())
        if getattr(dist, "discrete", True):
            return PixelConditional(index, float(value[0]), log_prob,
                                    probs=one.probs()[0].float().cpu().numpy())
        # span every mixture component (and the value) four standard deviations out
        centres = one.means.float()[0] if hasattr(one, "means") else one.mean()
        spread = float(one.log_stds.float().exp().max()) if hasattr(one, "log_stds") else 1.0
        lo = min(float(centres.min()), float(value[0])) - 4 * spread
        hi = max(float(centres.max()), float(value[0])) + 4 * spread
        grid = torch.linspace(lo, hi, grid_points)
        density = one.density(grid)[0].float().cpu().numpy()
        return PixelConditional(index, float(value[0]), log_prob, grid=grid.numpy(), density=density)
    finally:
        model.train(was_training)


@torch.no_grad()
def nll_map(model, x: torch.Tensor, **cond) -> torch.Tensor:
    """Surprise in bits, -log2 p(x_i | x_<i), for every entry of one example: (*shape) on the CPU.

    Its mean is the example's bits/dim (for real-valued data, a density in bits)."""
    if tuple(x.shape) != tuple(model.spec.shape):
        raise ValueError(f"x must be one example of shape {model.spec.shape}, got {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        terms = model.log_prob(x.unsqueeze(0).to(model.device), reduce=False, **cond)[0]
    finally:
        model.train(was_training)
    return (-terms.float() / math.log(2.0)).cpu()
