"""A latent AR model's prior run off the GUI thread: samples or a code-space completion,
code by code, in a plain thread that the Latent tab's views poll.

``LatentRun`` loads its own copy of the pair (VQ-VAE + prior) from the prior's
checkpoint, walks :meth:`arstudio.models.latent.LatentAR.sample_steps` (or
``complete_steps``) and leaves the latest NumPy snapshot — the code grids so far, the
decoded images, which codes are still to come — for the GUI's timer; tensors never leave
the thread. Speed, pause and single steps are honoured before each generated code
(codes that are known are not waited for). No Qt here.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np


class LatentRun:
    """``kind`` "sample": n fresh code grids; "complete": ``image`` (C, H, W) with the pixels
    where ``known`` (H, W) is false redrawn through the codes they touch."""

    def __init__(self, path: Path, kind: str, n: int, temperature: float, seed: int, speed: float,
                 image: np.ndarray | None = None, known: np.ndarray | None = None,
                 vqvae: str | None = None):
        if kind not in ("sample", "complete"):
            raise ValueError(f"unknown run kind {kind!r}")
        self.args = (path, kind, n, temperature, seed, image, known, vqvae)
        self.speed = speed  # codes per second; inf = no waiting
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self._tokens = 0  # single steps granted while paused
        self._lock = threading.Lock()
        self.latest: dict | None = None  # {"codes", "images", "pending", "index", "step", "total"}
        self.result: dict | None = None  # the last snapshot
        self.generated = 0  # codes generated so far (not counting known ones)
        self.error: str | None = None
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name="arstudio-latent", daemon=True)

    def start(self):
        self.thread.start()

    def step_once(self):
        with self._lock:
            self._tokens += 1

    def take_latest(self) -> dict | None:
        with self._lock:
            latest, self.latest = self.latest, None
            return latest

    def _wait_turn(self, last_time: float) -> float:
        while self.paused.is_set() and not self.stopped.is_set():
            with self._lock:
                if self._tokens:
                    self._tokens -= 1
                    return time.monotonic()
            time.sleep(0.01)
        if self.speed != float("inf"):
            delay = 1.0 / self.speed - (time.monotonic() - last_time)
            while delay > 0 and not self.stopped.is_set() and not self.paused.is_set():
                time.sleep(min(delay, 0.02))
                delay = 1.0 / self.speed - (time.monotonic() - last_time)
        return time.monotonic()

    def _run(self):
        try:
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
                with self._lock:
                    self.latest = snapshot
            self.result = snapshot
        except Exception as e:  # noqa: BLE001 — reported in the view; the window lives on
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.finished.set()


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
