"""The image inspectors' worker side: checkpoints and an example image, kept per path.

Runs only in pool threads (``run_job``); results leave as NumPy. One lock: a
model is probed by one job at a time (the probes hook its layers while they run).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

_LOCK = threading.Lock()
_MODELS: dict = {}  # str(path) -> (mtime, model)
_EXAMPLES: dict = {}  # str(path) -> (C, H, W) int array


def image_models() -> list:
    """The bundled autoregressive image models, as ``arstudio.bundled.BundledModel``s."""
    from arstudio.bundled import list_bundled
    from arstudio.models.registry import load_all

    infos = load_all()
    out = []
    for b in list_bundled():
        info = infos.get(b.model)
        if info is not None and len(b.metadata["spec"]["shape"]) == 3 and info.cls.autoregressive:
            out.append(b)
    return out


def _model(path):
    from arstudio.checkpoint import load_checkpoint

    key = str(path)
    mtime = Path(path).stat().st_mtime
    hit = _MODELS.get(key)
    if hit is None or hit[0] != mtime:
        if len(_MODELS) >= 6:
            _MODELS.pop(next(iter(_MODELS)))
        hit = _MODELS[key] = (mtime, load_checkpoint(path))
    return hit[1]


def _example(path, model) -> np.ndarray:
    """Test example 0 of the data the checkpoint names, or a blank image when there is none."""
    key = str(path)
    if key not in _EXAMPLES:
        from arstudio.checkpoint import dataset_named_by, read_metadata
        from arstudio.data import load_dataset

        x = np.zeros(model.spec.shape, np.int64)
        try:
            name = dataset_named_by(read_metadata(path))
            if name:
                data = load_dataset(name)
                if tuple(data.test.shape[1:]) == tuple(model.spec.shape):
                    x = data.test[0].long().numpy()
        except Exception:  # noqa: BLE001 — a blank image still shows every mask and field
            pass
        _EXAMPLES[key] = x
    return _EXAMPLES[key]


def with_model(path, fn):
    """``fn(model, example)`` under the lock, for a pool thread; returns what fn returns."""
    with _LOCK:
        model = _model(path)
        return fn(model, _example(path, model))
