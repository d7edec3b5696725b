"""The dataset registry: ``DATASETS[name] -> DatasetInfo``.

Every built-in set works offline: it ships in ``resources/data`` or is
generated deterministically. Modules in this package register their sets
with :func:`register_dataset` and are discovered automatically; a loader of a
user's files registers its name prefix with :func:`register_prefix` (``idx:PATH``),
so this module never imports a loader.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from arstudio.discovery import import_submodules
from arstudio.spec import DataSpec

DATASETS: dict[str, DatasetInfo] = {}
PREFIXES: dict[str, PrefixInfo] = {}  # "idx" -> loader of "idx:PATH"
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


@dataclass(frozen=True)
class PrefixInfo:
    prefix: str
    load: Callable[[str], Dataset]  # the text after "PREFIX:", usually a path
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


def register_prefix(prefix: str, *, description: str = ""):
    """Decorator for a loader of ``PREFIX:ARG`` names (a user's folder or file):
    ``@register_prefix("idx")`` on ``def load(arg: str) -> Dataset``."""

    def deco(fn):
        if prefix in PREFIXES:
            raise ValueError(f"dataset prefix {prefix!r} registered twice")
        PREFIXES[prefix] = PrefixInfo(prefix, fn, description)
        return fn

    return deco


def load_all() -> dict[str, DatasetInfo]:
    import arstudio.data as pkg

    import_submodules(pkg, _NOT_SETS)
    return DATASETS


def list_datasets() -> list[DatasetInfo]:
    return sorted(load_all().values(), key=lambda d: d.name)


def list_prefixes() -> list[PrefixInfo]:
    load_all()
    return sorted(PREFIXES.values(), key=lambda p: p.prefix)


def load_dataset(name: str) -> Dataset:
    """A registered set by name, or a user's files through a registered prefix,
    ``PREFIX:PATH`` (``arstudio datasets`` lists both; e.g. ``idx:PATH``, ``text:PATH``)."""
    sets = load_all()
    if name in sets:
        return sets[name].load()
    prefix, sep, arg = name.partition(":")
    if sep and prefix in PREFIXES:
        return PREFIXES[prefix].load(arg)
    raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(sorted(sets))}; "
                   f"or a path as {', '.join(p + ':PATH' for p in sorted(PREFIXES))}")
