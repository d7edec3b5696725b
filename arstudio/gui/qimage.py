"""NumPy RGB arrays -> QPixmap with crisp (nearest-neighbour) scaling."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def pixmap_from_rgb(array: np.ndarray, width: int | None = None, height: int | None = None) -> QPixmap:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    h, w, _ = array.shape
    image = QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # own the bytes
    pix = QPixmap.fromImage(image)
    if width and height:
        pix = pix.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)
    return pix
