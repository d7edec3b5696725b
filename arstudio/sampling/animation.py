"""The pixel-by-pixel fill (or sampling) of an image model as animation frames, for
File → Save animation… and the command line: the completion generator
(:func:`arstudio.sampling.completion.complete_steps`) drawn into grid frames of
:mod:`arstudio.exports`. No Qt; the window calls it in a pool thread."""
from __future__ import annotations

import numpy as np

from arstudio.exports import MAX_FRAMES, grid_frame, model_facts


def fill_animation(path, known, mask, n: int = 4, method: str = "raster", temperature: float = 1.0,
                   seed: int = 0, scale: int = 4, cond: dict | None = None) -> tuple[list, dict]:
    """The pixel-by-pixel fill of ``known`` (C, H, W) where ``mask`` is false, by the model
    in checkpoint ``path``: (frames, facts). Everything unknown (``mask`` all false) is
    sampling from scratch. One frame per generated pixel (every k-th beyond MAX_FRAMES),
    the current pixel outlined; first the known part, last the finished grid. Runs
    anywhere (the window calls it in a pool thread)."""
    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.sampling.completion import complete_steps

    model = load_checkpoint(path)
    spec = model.spec
    if spec.modality != "image" or not spec.discrete:
        raise ValueError(f"{model.registry_name} models {spec.describe()}; an animation needs a discrete "
                         "image model")
    known = torch.as_tensor(np.asarray(known)).long().reshape(spec.shape)
    mask = torch.as_tensor(np.asarray(mask)).bool().reshape(spec.shape)
    flat_known = mask.reshape(-1).tolist()
    every = max(1, -(-(len(flat_known) - sum(flat_known)) // MAX_FRAMES))
    frames = [grid_frame(torch.where(mask, known, torch.zeros_like(known)).expand(n, *spec.shape), spec,
                         None, None, scale)]
    gen = torch.Generator().manual_seed(int(seed))
    result = None
    for s in complete_steps(model, known, mask, n, method, temperature, gen, **(cond or {})):
        if s.result is not None:
            result = s.result
            break
        if s.index >= 0 and not flat_known[s.index] and s.step % every == 0:
            frames.append(grid_frame(s.x[:n].cpu(), spec, s.index, None, scale))
    frames.append(grid_frame(result.samples.cpu(), spec, None, None, scale))
    unknown = int((~mask[0]).sum())
    facts = model_facts(model, Method=method, Seed=int(seed), Temperature=float(temperature),
                        **{"Unknown pixels": unknown, "Animation": "sampling" if not mask.any() else "fill"})
    return frames, facts
