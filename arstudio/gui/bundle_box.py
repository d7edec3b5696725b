"""A drop-down of bundled models, shared by the panels that work on one bundled model
at a time (Compress, Anomaly)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox

from arstudio.bundled import BundledModel, list_bundled


def discrete_image(b: BundledModel) -> bool:
    """A bundled model of (C, H, W) images with discrete levels, of the images alone (a model
    that also takes a painted map of where the digit goes cannot code or score an image by
    itself: see sampling.conditioning.map_needed)."""
    spec = b.metadata["spec"]
    return len(spec["shape"]) == 3 and bool(spec.get("levels")) and not b.takes_a_map


class BundledModelBox(QComboBox):
    """The bundled models that ``keep`` accepts (all by default), each shown by its title
    with its key as the item's data; :meth:`current` is the chosen one."""

    def __init__(self, keep: Callable[[BundledModel], bool] | None = None, parent=None):
        super().__init__(parent)
        self.models = [b for b in list_bundled() if keep is None or keep(b)]
        for b in self.models:
            self.addItem(b.title, b.key)

    def current(self) -> BundledModel | None:
        i = self.currentIndex()
        return self.models[i] if 0 <= i < len(self.models) else None
