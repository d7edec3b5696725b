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
    load: Callable[..., Dataset]  # the text after "PREFIX:", usually a path (+ options, if any)
    description: str = ""
    # the dataclass of the options it takes (``--data-set KEY=VALUE``; the Add dataset… dialog
    # builds its form from it), or None; a loader with options is ``load(arg, options: dict)``
    options: type | None = None


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


def register_prefix(prefix: str, *, description: str = "", options: type | None = None):
    """Decorator for a loader of ``PREFIX:ARG`` names (a user's folder or file):
    ``@register_prefix("idx")`` on ``def load(arg: str) -> Dataset``; with ``options=``
    (a dataclass of settings) on ``def load(arg: str, options: dict) -> Dataset``."""

    def deco(fn):
        if prefix in PREFIXES:
            raise ValueError(f"dataset prefix {prefix!r} registered twice")
        PREFIXES[prefix] = PrefixInfo(prefix, fn, description, options)
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


def data_ref(name: str, options: dict | None = None) -> str:
    """One string naming a user's data with its options, as run folders and checkpoints
    record it: ``images:/data/pets?levels=2&size=32x32`` (keys sorted; no options: ``name``)."""
    from arstudio.values import format_value

    base, given = split_ref(name)
    given.update(options or {})
    if not given:
        return base
    return base + "?" + "&".join(f"{k}={format_value(v)}" for k, v in sorted(given.items()))


def split_ref(name: str) -> tuple[str, dict]:
    """``images:/x?size=8x8&levels=2`` -> (``images:/x``, {"size": "8x8", "levels": 2})."""
    from arstudio.values import parse_value

    base, sep, query = name.rpartition("?")
    if not sep or ":" not in base or not query or not all("=" in kv for kv in query.split("&")):
        return name, {}
    return base, {k.strip(): parse_value(v) for k, v in (kv.split("=", 1) for kv in query.split("&"))}


def load_dataset(name: str, options: dict | None = None) -> Dataset:
    """A registered set by name, or a user's files through a registered prefix,
    ``PREFIX:PATH`` (``arstudio datasets`` lists both; e.g. ``idx:PATH``, ``text:PATH``).
    ``options``: the data options a prefix takes (``images:PATH`` with ``size``, ``levels`` …),
    also accepted inside the name as :func:`data_ref` writes them."""
    name, in_name = split_ref(name)
    options = {**in_name, **(options or {})}
    sets = load_all()
    if name in sets:
        if options:
            raise ValueError(f"dataset {name!r} takes no options (got {', '.join(options)})")
        return sets[name].load()
    prefix, sep, arg = name.partition(":")
    if sep and prefix in PREFIXES:
        info = PREFIXES[prefix]
        if info.options is not None:
            return info.load(arg, dict(options or {}))
        if options:
            raise ValueError(f"{prefix}:PATH takes no options (got {', '.join(options)})")
        return info.load(arg)
    raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(sorted(sets))}; "
                   f"or a path as {', '.join(p + ':PATH' for p in sorted(PREFIXES))}")


# --- bounds on a user's files (a stranger's file never takes the machine down) ---------------
MAX_DECOMPRESSED_BYTES = 1 << 30  # a gzipped IDX file may unpack to at most 1 GiB (MNIST: 47 MB)
MAX_DATA_FILE_BYTES = 4 << 30  # any one data file on disk
MAX_TEXT_BYTES = 32 << 20  # a text:PATH corpus (32 MiB of characters)
MAX_IMAGE_PIXELS = 1 << 26  # one image in an image folder (64 M pixels, e.g. 8192×8192)


def regular_file(path, limit: int = MAX_DATA_FILE_BYTES) -> int:
    """The size of ``path`` if it is a regular file within ``limit`` bytes; DataError for a
    missing file, a device (``/dev/zero``), a FIFO or socket, or a file too large. Checked
    with stat before any open, so a FIFO never blocks the reader."""
    from arstudio.untrusted import FileRefused, check_file

    try:
        return check_file(path, limit)
    except FileRefused as e:  # the same check every reader makes, as this layer's error
        raise DataError(str(e)) from None
