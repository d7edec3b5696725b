"""Naive versus cached generation, timed side by side: the speed meter's core (no Qt).

Every model samples through one seam (``ARModel.sample_steps``): the naive path
reruns the whole network for every dimension (:class:`~arstudio.models.steppers.NaiveStepper`),
the cached path uses the model's own stepper (``make_stepper``; ``has_cached_stepper``).
Both draw the same random numbers in the same order, so for the same seed they give
the same samples. :class:`SpeedMeter` records, for each path, how many pixels (or
samples) it has generated and in how long — live, from the thread that samples — and
the samples it ended with; the studio shows the two rates, the speed-up and a check
mark when the two paths' samples for the same request are identical.

A "pixel" here is one generated dimension of one sample: n samples of D dimensions
are n·D pixels.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

PATHS = ("cached", "naive")


@dataclass(frozen=True)
class PathTiming:
    """One path's latest run: live while ``finished`` is False."""

    path: str  # "cached" or "naive"
    key: tuple  # what was asked: (model, n, temperature, seed, label, order, ...)
    pixels: int = 0  # dimensions generated so far, summed over the samples
    seconds: float = 0.0
    total: int = 0  # pixels the run will generate in all
    finished: bool = False
    samples: np.ndarray | None = None  # (n, *shape) once finished

    @property
    def rate(self) -> float:
        """Pixels per second (0 before the first pixel)."""
        return self.pixels / self.seconds if self.seconds > 0 else 0.0


class SpeedMeter:
    """Thread-safe record of the latest run of each path. A sampling thread calls
    :meth:`begin`, :meth:`tick` and :meth:`finish`; the window reads :meth:`timing`,
    :meth:`speedup` and :meth:`identical`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._runs: dict[str, PathTiming] = {}

    def begin(self, path: str, key: tuple, total: int) -> None:
        if path not in PATHS:
            raise ValueError(f"unknown sampling path {path!r}; choose from {PATHS}")
        with self._lock:
            self._runs[path] = PathTiming(path, key, total=total)

    def tick(self, path: str, pixels: int, seconds: float) -> None:
        with self._lock:
            self._runs[path] = replace(self._runs[path], pixels=pixels, seconds=seconds)

    def finish(self, path: str, samples) -> None:
        with self._lock:
            run = self._runs[path]
            self._runs[path] = replace(run, finished=True, samples=np.asarray(samples).copy())

    def timing(self, path: str) -> PathTiming | None:
        with self._lock:
            return self._runs.get(path)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()

    def speedup(self) -> float | None:
        """Cached rate over naive rate, once both paths have generated something."""
        cached, naive = self.timing("cached"), self.timing("naive")
        if cached is None or naive is None or not cached.rate or not naive.rate:
            return None
        return cached.rate / naive.rate

    def identical(self) -> bool | None:
        """Whether both paths, finished on the same request (same key: model, seed, …),
        gave the same samples; None until there is such a pair."""
        cached, naive = self.timing("cached"), self.timing("naive")
        if cached is None or naive is None or not (cached.finished and naive.finished):
            return None
        if cached.key != naive.key:
            return None
        return bool(np.array_equal(cached.samples, naive.samples))


def generated_pixels(n: int, mask=None, num_dims: int | None = None) -> int:
    """Pixels a run generates: n × the unknown dimensions (all of them without a mask)."""
    if mask is None:
        return n * int(num_dims)
    return n * int((~np.asarray(mask, dtype=bool)).sum())


def timed_sample(model, n: int, path: str, meter: SpeedMeter, key: tuple, temperature: float = 1.0,
                 generator=None, stop: threading.Event | None = None, known=None, mask=None, **cond):
    """``model.sample(n, ...)`` through ``path`` ("cached" or "naive"), reporting to ``meter``
    after every dimension; returns the samples (n, *shape), or None when ``stop`` was set."""
    if path == "cached" and not model.has_cached_stepper:
        raise ValueError(f"{model.registry_name} has no cached stepper: only the naive path")
    meter.begin(path, key, generated_pixels(n, mask, model.num_dims))
    flat_mask = None if mask is None else np.asarray(mask, dtype=bool).reshape(-1)
    done, x = 0, None
    t0 = time.perf_counter()
    for s in model.sample_steps(n, known, mask, temperature, generator, naive=path == "naive", **cond):
        if stop is not None and stop.is_set():
            return None
        x = s.x
        if flat_mask is None or not flat_mask[s.index]:
            done += n
            meter.tick(path, done, time.perf_counter() - t0)
    samples = x.detach().cpu().numpy()
    meter.finish(path, samples)
    return samples


def model_facts(path) -> dict:
    """Runs in a worker: what the sampler switch and the pickers need to know of a model."""
    from arstudio.checkpoint import load_checkpoint

    model = load_checkpoint(path)
    image = model.spec.modality == "image"
    return {"name": model.registry_name, "cached": model.has_cached_stepper,
            "classes": model.num_labels if image else 0,
            "agnostic": model.order_agnostic, "order": model.order.cpu().numpy(),
            "local_map": model.local_map if image else None,  # a map to paint (where the digit goes)
            "shape": tuple(model.spec.shape), "image": image, "prior": str(
                model.checkpoint_meta.get("dataset", "")).startswith("vqcodes:")}
