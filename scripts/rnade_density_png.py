"""Heat maps of a real-valued 2-D model's density next to the data's histogram.

    PYTHONPATH=. python scripts/rnade_density_png.py rnade-moons notes/rnade-moons-density.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arstudio.checkpoint import load_checkpoint
from arstudio.cli import resolve_checkpoint
from arstudio.data import load_dataset
from arstudio.imaging import save_png


def to_grey(a: np.ndarray) -> np.ndarray:
    return (255 * a / max(a.max(), 1e-12)).astype(np.uint8)


def main(argv=None) -> int:
    target, out = (argv or sys.argv[1:])[:2]
    model = load_checkpoint(resolve_checkpoint(target))
    data = load_dataset(model.checkpoint_meta["dataset"])
    lo, hi = data.extras.get("extent", [-3.5, 3.5])
    n = 200
    axis = torch.linspace(lo, hi, n)
    ys, xs = torch.meshgrid(axis.flip(0), axis, indexing="ij")  # row 0 at the top: y = hi
    with torch.no_grad():
        dens = model.log_prob(torch.stack([xs, ys], -1).view(-1, 2)).exp().view(n, n).numpy()
    pts = data.test.numpy()
    hist, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=n, range=[[lo, hi], [lo, hi]])
    gap = np.full((n, 8), 64, np.uint8)
    save_png(np.concatenate([to_grey(dens), gap, to_grey(np.flipud(hist) ** 0.5)], 1), out)
    print(f"{out}: model density (left) and test points (right) over [{lo}, {hi}]²")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
