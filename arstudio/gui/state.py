"""The studio's data model: plain Python that widgets subscribe to.

Panels never talk to each other directly: they read and set fields here and
listen for changes. ``subscribe(field, callback)`` calls ``callback(value)``
on the GUI thread whenever ``set(field, value)`` changes it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any


class StudioState:
    FIELDS = (
        "checkpoint",  # Path of the model being shown / completed / inspected
        "run",  # Path of the open run folder, or None
        "dataset",  # dataset name for the current model
    )

    def __init__(self):
        self._values: dict[str, Any] = {f: None for f in self.FIELDS}
        self._subscribers: dict[str, list[Callable]] = defaultdict(list)

    def get(self, field: str):
        return self._values[field]

    def set(self, field: str, value) -> None:
        if field not in self._values:
            raise KeyError(f"unknown state field {field!r}")
        if isinstance(value, str) and field in ("checkpoint", "run"):
            value = Path(value)
        if self._values[field] == value:
            return
        self._values[field] = value
        for callback in list(self._subscribers[field]):
            callback(value)

    def subscribe(self, field: str, callback: Callable) -> None:
        if field not in self._values:
            raise KeyError(f"unknown state field {field!r}")
        self._subscribers[field].append(callback)
