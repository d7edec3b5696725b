"""The dataset registry: ``DATASETS[name] -> DatasetInfo``.

Every built-in set works offline: it ships in ``resources/data`` or is
generated deterministically. Modules in this package register their sets
with :func:`register_dataset` and are discovered automatically.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from arstudio.discovery import import_submodules
from arstudio.spec import DataSpec

DATASETS: dict[str, DatasetInfo] = {}
_NOT_SETS = {"registry"}


@dataclass
class Dataset:
    name: str
    spec: DataSpec
    train: torch.Tensor  # (N, *spec.shape), long for discrete, float for real
    val: torch.Tensor
    test: torch.Tensor
    license: str
    description: str = ""
    # optional per-example labels (class ids) for conditional models
    labels: dict[str, torch.Tensor] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)  # e.g. {"sample_rate": 16000}

    def split(self, name: str) -> torch.Tensor:
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}")
        return getattr(self, name)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    spec: DataSpec
    load: Callable[[], Dataset]
    license: str
    description: str = ""


class DataError(Exception):
    """Data that cannot be loaded; the message names the file and the reason."""


def register_dataset(name, *, spec: DataSpec, license: str, description: str = ""):
    """Decorator for a zero-argument loader returning a :class:`Dataset`."""

    def deco(fn):
        if name in DATASETS:
            raise ValueError(f"dataset {name!r} registered twice")
        DATASETS[name] = DatasetInfo(name, spec, functools.cache(fn), license, description)
        return fn

    return deco


def load_all() -> dict[str, DatasetInfo]:
    import arstudio.data as pkg

    import_submodules(pkg, _NOT_SETS)
    return DATASETS


def list_datasets() -> list[DatasetInfo]:
    return sorted(load_all().values(), key=lambda d: d.name)


def load_dataset(name: str) -> Dataset:
    """A registered set by name, or a folder of files: ``idx:PATH``,
    ``cifar10:PATH`` (see :mod:`arstudio.data.files`), ``audio:PATH`` /
    ``audio-16k:PATH`` (a folder of sound files, :mod:`arstudio.data.audio_files`)
    or ``text:PATH`` (one text file, :mod:`arstudio.data.text`)."""
    if ":" in name and name.split(":", 1)[0] in ("idx", "idx-binary", "cifar10"):
        from arstudio.data import files

        kind, path = name.split(":", 1)
        if kind == "cifar10":
            return files.load_cifar10(path)
        return files.load_idx(path, binarize=kind == "idx-binary")
    if ":" in name and name.split(":", 1)[0] in ("audio", "audio-16k", "text"):
        kind, path = name.split(":", 1)
        if kind == "text":
            from arstudio.data.text import load_text_file

            return load_text_file(path)
        from arstudio.data.audio_files import load_audio_folder

        return load_audio_folder(path, rate=16000 if kind == "audio-16k" else 8000,
                                 chunk=4096 if kind == "audio-16k" else 2048)
    sets = load_all()
    if name not in sets:
        raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(sorted(sets))}")
    return sets[name].load()
