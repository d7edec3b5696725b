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


class ClassBox(QComboBox):
    """For a class-conditional bundled model, the class to code or score images under: the
    first item (``first``, data None) is the view's default (the data set's classes, or the
    class summed out), then "class 0" … "class K-1"; disabled for a model without classes."""

    def __init__(self, first: str, parent=None):
        super().__init__(parent)
        self.first = first
        self.setToolTip("class-conditional models: the class the images are coded or scored under")
        self.set_model(None)

    def set_model(self, b: BundledModel | None) -> None:
        self.clear()
        classes = b.classes if b is not None else 0
        self.addItem(self.first if classes else "no classes", None)
        for k in range(classes):
            self.addItem(f"class {k}", k)
        self.setEnabled(classes > 0)

    def label(self) -> int | None:
        return self.currentData()
