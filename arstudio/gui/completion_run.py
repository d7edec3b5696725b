"""Completion off the GUI thread: a plain thread that the Complete tab polls.

``CompletionRun`` loads its own copy of the model from the checkpoint, walks
:func:`arstudio.sampling.complete_steps` and leaves the latest NumPy
snapshot (and at the end the result) for the GUI's timer; tensors never
leave the thread. Speed, pause and single steps are honoured before each
generated pixel (the loop is :class:`~arstudio.gui.stepped_run.SteppedRun`'s).
No Qt here.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from arstudio.gui.stepped_run import SteppedRun

MAX_SPEED = 11  # slider value meaning "as fast as the model goes"


def steps_per_second(slider_value: int) -> float:
    """Slider 1..10 -> 1..1000 pixels per second (log scale); 11 -> unlimited."""
    return float("inf") if slider_value >= MAX_SPEED else 10 ** ((slider_value - 1) / 3)


class CompletionRun(SteppedRun):
    """Runs one completion in a thread; the GUI reads ``latest`` and ``result``."""

    def __init__(self, path: Path, known: np.ndarray, mask: np.ndarray, n: int, method: str,
                 temperature: float, seed: int, speed: float, sampler: str = "cached", meter=None,
                 label: int | None = None, order=None, location=None):
        self.args = (path, known, mask, n, method, temperature, seed)
        self.sampler = sampler  # "cached" (the model's stepper) or "naive" (full recompute)
        self.meter = meter  # a SpeedMeter timing the generated pixels, or None
        self.label = label  # class id for a class-conditional model
        self.order = order  # a permutation for an order-agnostic model, or None
        self.location = location  # (C, H, W) where the digit goes, for a map-conditioned model
        super().__init__(speed, "arstudio-complete")  # latest: {"x", "index", "step", "total", "phase", "pending"}

    def _work(self):
        import torch

        from arstudio.checkpoint import load_checkpoint
        from arstudio.sampling.completion import complete_steps
        from arstudio.sampling.conditioning import conditioning

        path, known, mask, n, method, temperature, seed = self.args
        model = load_checkpoint(path)
        generator = torch.Generator().manual_seed(seed)
        painted = np.asarray(mask).reshape(-1)
        drawn = painted.copy()  # entries with a value so far: painted or generated
        # class 0 / the centred box when the pickers did not know the model yet
        cond = conditioning(model, self.label, self.location)
        if not model.has_cached_stepper:
            self.sampler = "naive"  # there is no other path; the meter says so
        candidates = max(64, 8 * n)
        steps = iter(complete_steps(model, torch.as_tensor(known), torch.as_tensor(mask), n, method,
                                    temperature, generator, candidates=candidates,
                                    naive=self.sampler == "naive", order=self.order, **cond))
        timing = self.meter is not None
        if timing:
            batch = candidates if method == "resample" else n
            key = (str(path), hash(np.asarray(known).tobytes()), hash(painted.tobytes()), n, method,
                   temperature, seed, self.label, None if self.order is None else tuple(np.asarray(self.order)),
                   None if self.location is None else hash(np.asarray(self.location).tobytes()))
            self.meter.begin(self.sampler, key, batch * int((~painted).sum()))
            pixels, elapsed = 0, 0.0  # generated pixels and the time spent generating them
        last, need_turn = time.monotonic(), True
        while True:
            if need_turn:  # wait (speed, pause, single step) before drawing a pixel
                last = self._wait_turn(last)
            if self.stopped.is_set():
                return
            t0 = time.perf_counter()
            s = next(steps, None)
            if timing and s is not None and s.phase in ("raster", "candidates", "any-order") \
                    and s.index >= 0 and not painted[s.index]:
                pixels += batch
                elapsed += time.perf_counter() - t0  # model time only: not the animation's waits
                self.meter.tick(self.sampler, pixels, elapsed)
            if s is None:
                break
            if s.result is not None:
                r = s.result
                if timing:
                    self.meter.finish(self.sampler, r.samples.cpu().numpy())
                self.result = {"x": r.samples.cpu().numpy(), "method": r.method, "note": r.note,
                               "unseen": r.unseen.cpu().numpy(), "ess": r.effective_samples}
                break
            if s.index >= 0:
                drawn[s.index] = True
            snapshot = {"x": s.x[:n].cpu().numpy().copy(), "index": s.index, "step": s.step,
                        "total": s.total, "phase": s.phase, "pending": ~drawn.reshape(mask.shape)}
            self._publish(snapshot)
            # painted pixels are kept, not drawn: no waiting for them
            need_turn = s.index >= 0 and not painted[s.index]


def example_image(name: str, shape, levels: int, seed: int):
    """Runs in a worker: one random test image of dataset ``name`` as NumPy, and a caption."""
    from arstudio.data.registry import load_dataset

    data = load_dataset(name)
    if tuple(data.spec.shape) != tuple(shape) or data.spec.levels != levels:
        raise ValueError(f"{name} holds {data.spec.describe()}, not the model's data")
    i = int(np.random.default_rng(seed).integers(len(data.test)))
    return data.test[i].numpy(), f"{name} test image {i}: paint 'unknown' over what the model should redraw"
