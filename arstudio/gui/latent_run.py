"""A latent AR model's prior run off the GUI thread: samples or a code-space completion,
code by code, in a plain thread that the Latent tab's views poll.

``LatentRun`` loads its own copy of the pair (VQ-VAE + prior) from the prior's
checkpoint, walks :meth:`arstudio.models.latent.LatentAR.sample_steps` (or
``complete_steps``) and leaves the latest NumPy snapshot — the code grids so far, the
decoded images, which codes are still to come — for the GUI's timer; tensors never leave
the thread. Speed, pause and single steps are honoured before each generated code
(codes that are known are not waited for; the loop is
:class:`~arstudio.gui.stepped_run.SteppedRun`'s). No Qt here.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from arstudio.gui.stepped_run import SteppedRun


class LatentRun(SteppedRun):
    """``kind`` "sample": n fresh code grids; "complete": ``image`` (C, H, W) with the pixels
    where ``known`` (H, W) is false redrawn through the codes they touch."""

    def __init__(self, path: Path, kind: str, n: int, temperature: float, seed: int, speed: float,
                 image: np.ndarray | None = None, known: np.ndarray | None = None,
                 vqvae: str | None = None):
        if kind not in ("sample", "complete"):
            raise ValueError(f"unknown run kind {kind!r}")
        self.args = (path, kind, n, temperature, seed, image, known, vqvae)
        super().__init__(speed, "arstudio-latent")  # speed: codes per second
        # latest: {"codes", "images", "pending", "index", "step", "total"}; result: the last one
        self.generated = 0  # codes generated so far (not counting known ones)

    def _work(self):
        import torch

        from arstudio.training.codes import load_latent

        path, kind, n, temperature, seed, image, known, vqvae = self.args
        pair = load_latent(path, vqvae=vqvae)
        generator = torch.Generator().manual_seed(seed)
        h, w = pair.code_shape
        if kind == "sample":
            pending = np.ones((h, w), bool)
            steps = pair.sample_steps(n, temperature=temperature, generator=generator)
        else:
            pending = ~pair.code_mask_for(torch.as_tensor(known)).numpy()
            steps = pair.complete_steps(torch.as_tensor(image), torch.as_tensor(known), n,
                                        temperature, generator)
        order = pair.prior.order.tolist()
        flat = pending.reshape(-1)  # a view: cleared as codes are generated
        steps = iter(steps)
        last = time.monotonic()
        for step, index in enumerate(order):
            if flat[index]:  # a code to generate: wait for its turn (speed, pause, step)
                last = self._wait_turn(last)
            if self.stopped.is_set():
                return
            s = next(steps)
            assert s.index == index and s.step == step, "the prior's order changed mid-run"
            if flat[index]:
                flat[index] = False
                self.generated += 1
            snapshot = {"codes": s.codes.cpu().numpy().copy(), "images": s.images.cpu().numpy().copy(),
                        "pending": pending.copy(), "index": index, "step": step, "total": s.total}
            self._publish(snapshot)
        self.result = snapshot


def load_pair(path, vqvae: str | None = None):
    """Runs in a worker: the pair for the GUI thread's quick looks (encoding one image, one
    code's conditional) and the test images of the VQ-VAE's data."""
    from arstudio.data.registry import load_dataset
    from arstudio.models.registry import load_all
    from arstudio.training.codes import load_latent

    load_all()
    pair = load_latent(path, vqvae=vqvae)
    data = load_dataset(pair.vqvae.checkpoint_meta["dataset"])
    return pair, data.test, data.name
