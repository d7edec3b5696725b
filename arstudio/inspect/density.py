"""A 2-D real-valued model's density on a grid, for the heat map beside the data.

``density_grid(model, lo, hi, steps)`` evaluates exp(log p(x)) on a
steps × steps grid over the box [lo, hi] (two corners). It works for any
model of real-valued 2-D vectors (RNADE on the toy densities, any order).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class DensityGrid:
    xs: np.ndarray  # (steps,) grid along dimension 0
    ys: np.ndarray  # (steps,) grid along dimension 1
    density: np.ndarray  # (steps, steps): density[i, j] = p(xs[i], ys[j])

    def mass(self) -> float:
        """The probability inside the box by the midpoint rule (close to 1 when the box covers the model)."""
        return float(self.density.sum() * (self.xs[1] - self.xs[0]) * (self.ys[1] - self.ys[0]))


@torch.no_grad()
def density_grid(model, lo=(-3.0, -3.0), hi=(3.0, 3.0), steps: int = 120, batch: int = 8192,
                 **cond) -> DensityGrid:
    if model.spec.discrete or model.spec.shape != (2,):
        raise ValueError(f"a density heat map needs real-valued 2-D data, not {model.spec.describe()}")
    xs = torch.linspace(float(lo[0]), float(hi[0]), steps)
    ys = torch.linspace(float(lo[1]), float(hi[1]), steps)
    points = torch.cartesian_prod(xs, ys)  # (steps*steps, 2), row i*steps + j = (xs[i], ys[j])
    was_training = model.training
    model.eval()
    try:
        logp = torch.cat([model.log_prob(points[s:s + batch].to(model.device), **cond).float().cpu()
                          for s in range(0, len(points), batch)])
    finally:
        model.train(was_training)
    return DensityGrid(xs.numpy(), ys.numpy(), logp.exp().view(steps, steps).numpy())
