"""ARStudio: a desktop studio for deep autoregressive generative models.

The public API is importable from here; heavy modules (torch) load on first
use so that ``arstudio --help`` stays quick.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "DataSpec": "arstudio.spec",
    "bits_per_dim": "arstudio.spec",
    "list_models": "arstudio.models.registry",
    "build_model": "arstudio.models.registry",
    "get_model_info": "arstudio.models.registry",
    "list_datasets": "arstudio.data.registry",
    "load_dataset": "arstudio.data.registry",
    "save_checkpoint": "arstudio.checkpoint",
    "load_checkpoint": "arstudio.checkpoint",
    "CheckpointError": "arstudio.checkpoint",
    "train": "arstudio.training.trainer",
    "TrainConfig": "arstudio.training.trainer",
    "complete": "arstudio.sampling.completion",
    "receptive_field": "arstudio.inspect.receptive_field",
    "nll_map": "arstudio.inspect.conditionals",
    "pixel_conditional": "arstudio.inspect.conditionals",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'arstudio' has no attribute {name!r}")


def __dir__():
    return __all__
