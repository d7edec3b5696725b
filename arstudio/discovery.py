"""Registries fill themselves: importing every module of a package runs its
``@register_*`` decorators. Shared by the model and dataset registries."""
from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package, skip: set[str]) -> None:
    """Import each module of ``package`` except those in ``skip`` and private ``_*`` ones."""
    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name not in skip and not mod.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{mod.name}")
