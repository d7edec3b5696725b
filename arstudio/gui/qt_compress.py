"""Compress view: a model as a lossless codec for the images you pick.

Pick a bundled image model and images (a range of test images, image files, or the canvas
of the Complete tab); a class-conditional model codes test images under their own class,
or all of them under the class chosen beside the model (the canvas and files need one),
and each .arz keeps it. Each image is coded on its own (the coded bytes, and the .arz file with its header) and with PNG,
lossless WebP and JPEG XL: bytes per image per codec as bars, the model's cost of
every pixel in bits, then the decoder rebuilding the first image dimension by
dimension from its .arz bytes alone, with a check mark when it is identical.
All coding runs in pool threads (workers.py); a 30 Hz timer shows the latest partial
image.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.bundle_box import BundledModelBox, ClassBox, discrete_image
from arstudio.gui.layouts import left_row
from arstudio.gui.pixelview import levels_to_rgb
from arstudio.gui.workers import Job, run_job

CODEC_COLOURS = {"coded": (240, 170, 40), ".arz": (220, 90, 40), "PNG": (80, 120, 200), "WebP": (90, 170, 90), "JPEG XL": (160, 100, 190)}


def compress_job(path, key: str, dataset: str, n: int, canvas: np.ndarray | None, first: int = 0,
                 files: list | None = None, label: int | None = None) -> dict:
    """Worker thread: model + images -> sizes, cost maps and .arz blobs (NumPy/bytes only).
    The images are the canvas, image files, or ``n`` test images from ``first``; a
    class-conditional model codes them under ``label``, else test images under their own class."""
    from pathlib import Path

    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.codec.files import read_image
    from arstudio.codec.report import compare_images
    from arstudio.data import load_dataset

    model = load_checkpoint(path)
    labels = None
    if canvas is not None:
        x = torch.from_numpy(np.asarray(canvas, dtype=np.int64))[None]
        source = "the canvas"
    elif files:
        x = torch.stack([read_image(Path(f), model.spec) for f in files])
        source = ", ".join(Path(f).name for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    else:
        data = load_dataset(dataset)
        x = data.test[first: first + n]
        test_labels = data.labels.get("test")
        labels = None if test_labels is None else test_labels[first: first + n]
        source = f"{dataset} test images {first}–{first + len(x) - 1}"
    r = compare_images(model, key, x, labels, label)
    return {"sizes": r.sizes, "bits": r.bits, "nll_bytes": r.nll_bytes, "blobs": r.blobs,
            "images": x.numpy(), "levels": model.spec.levels, "source": source, "path": path,
            "labels": r.labels, "classes": r.where}


class CompressPanel(QWidget):
    message = Signal(str)
    compressed = Signal()  # sizes and maps are shown
    rebuilt = Signal(bool)  # the decoder finished: identical?

    def __init__(self, parent=None, canvas_source: Callable[[], np.ndarray | None] | None = None):
        super().__init__(parent)
        self.canvas_source = canvas_source  # the window wires the Complete tab's canvas here
        self.result: dict | None = None
        self.identical: bool | None = None
        self._partial: np.ndarray | None = None
        self._shown_partial = None
        self._job: Job | None = None

        self.model_box = BundledModelBox(discrete_image)
        self.count = QSpinBox(minimum=1, maximum=16, value=6)
        self.first = QSpinBox(minimum=0, maximum=400, value=0)  # the first test image to code
        self.class_box = ClassBox("classes of the test images")  # class-conditional models
        self.model_box.currentIndexChanged.connect(lambda _i: self.class_box.set_model(self.model_box.current()))
        self.class_box.set_model(self.model_box.current())
        self.button = QPushButton("Compress test images")
        self.canvas_button = QPushButton("Compress the canvas")
        self.files_button = QPushButton("Compress files…")
        self.button.clicked.connect(lambda: self.start(canvas=False))
        self.canvas_button.clicked.connect(lambda: self.start(canvas=True))
        self.files_button.clicked.connect(self._pick_files)
        top = left_row(QLabel("Model"), self.model_box, self.class_box, QLabel("test images from"), self.first,
                       QLabel("count"), self.count, self.button, self.canvas_button, self.files_button)

        self.bars = pg.PlotWidget(title="bytes per image")
        self.bars.setLabel("left", "bytes")
        self.bars.setLabel("bottom", "image")
        self.bars.addLegend()
        self._bar_items: dict[str, pg.BarGraphItem] = {}
        views = pg.GraphicsLayoutWidget()
        self.cost_view = views.addViewBox(lockAspect=True, invertY=True)
        self.cost_image = pg.ImageItem()
        self.cost_image.setColorMap(pg.colormap.get("inferno"))
        self.cost_view.addItem(self.cost_image)
        self.rebuild_view = views.addViewBox(lockAspect=True, invertY=True)
        self.rebuild_image = pg.ImageItem()
        self.rebuild_view.addItem(self.rebuild_image)
        self.cost_label = QLabel("cost of each pixel (bits)")
        self.check = QLabel("")
        self.check.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        labels = QHBoxLayout()
        labels.addWidget(self.cost_label)
        labels.addWidget(self.check)
        right = QVBoxLayout()
        right.addWidget(views, 1)
        right.addLayout(labels)
        middle = QHBoxLayout()
        middle.addWidget(self.bars, 3)
        middle.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(self.summary)

        self.timer = QTimer(self, interval=33)  # ~30 Hz: the latest partial image only
        self.timer.timeout.connect(self._show_partial)
        self.timer.start()

    # --- actions ----------------------------------------------------------------------
    def _pick_files(self) -> None:
        b = self.model_box.current()
        if b is None:
            return
        shape = b.metadata["spec"]["shape"]
        files, _ = QFileDialog.getOpenFileNames(
            self, f"Images of {shape[2]}×{shape[1]} pixels to compress with {b.key}", "",
            "Images (*.png *.bmp *.gif *.tif *.tiff *.webp *.jpg *.jpeg *.pgm *.ppm)")
        if files:
            self.start(files=files)

    def start(self, canvas: bool = False, files: list | None = None) -> None:
        """Code test images (the default), the Complete tab's canvas, or image ``files``."""
        b = self.model_box.current()
        if b is None or self._job is not None:
            return
        label = self.class_box.label()
        if b.classes and label is None and (canvas or files):
            self.message.emit(f"{b.key} is class-conditional: choose the class the "
                              f"{'canvas shows' if canvas else 'files show'} in the class box "
                              "(only test images bring their own)")
            return
        image = None
        if canvas:
            image = self.canvas_source() if self.canvas_source else None
            image = None if image is None else np.array(image, dtype=np.int64)  # a copy: painting goes on
            shape = tuple(b.metadata["spec"]["shape"])
            levels = b.metadata["spec"]["levels"]
            if image is None or tuple(image.shape) != shape or int(np.max(image)) >= levels:
                self.message.emit(f"the canvas does not hold a {'×'.join(map(str, shape))} image of {levels} levels for {b.key}: "
                                  "open this model in the Complete tab first")
                return
        self.identical = None
        self.check.setText("")
        self.message.emit(f"compressing with {b.key}…")
        self._job = run_job(compress_job, b.path, b.key, b.dataset, self.count.value(), image,
                            self.first.value(), files, label, on_done=self._compressed, on_error=self._failed,
                            owner=self)

    def _failed(self, text: str) -> None:
        self._job = None
        self.message.emit(f"compression failed: {text}")

    def _compressed(self, result: dict) -> None:
        self._job = None
        self.result = result
        sizes = result["sizes"]
        n = len(result["images"])
        width = 0.8 / len(sizes)
        for k, (name, v) in enumerate(sizes.items()):
            x = np.arange(n) + (k - (len(sizes) - 1) / 2) * width
            item = self._bar_items.get(name)
            if item is None:
                item = pg.BarGraphItem(x=x, height=v, width=width, brush=CODEC_COLOURS.get(name, (150, 150, 150)),
                                       name=name)
                self._bar_items[name] = item
                self.bars.addItem(item)
            else:
                item.setOpts(x=x, height=v, width=width)
        bits = result["bits"][0]
        self.cost_image.setImage(bits.sum(0).T if bits.shape[0] > 1 else bits[0].T, levels=(0, max(bits.max(), 1e-6)))
        self.cost_label.setText(f"cost of each pixel: {bits.sum():.1f} bits in all, the most {bits.max():.1f}")
        mean = {k: float(np.mean(v)) for k, v in sizes.items()}
        classes = f" ({result['classes']})" if result.get("classes") else ""
        self.summary.setText(
            f"{result['source']}{classes}: " + ", ".join(f"{k} {v:.1f}" for k, v in mean.items())
            + f" bytes per image on average (the model's NLL {np.mean(result['nll_bytes']):.1f} bytes; \"coded\" is "
            "the range coder's output, each .arz file adds its header). Decoding the first image from its .arz bytes…")
        self.compressed.emit()
        self._start_rebuild()

    def _start_rebuild(self) -> None:
        result = self.result
        self._partial = np.zeros_like(result["images"][0])
        self._shown_partial = None
        D = self._partial.size

        def watch(values):
            self._partial = values  # plain NumPy, read by the GUI timer

        def run():
            from arstudio.checkpoint import load_checkpoint
            from arstudio.codec.report import rebuild

            model = load_checkpoint(result["path"])
            t0 = time.perf_counter()
            out = rebuild(model, result["blobs"][0], watch, every=max(1, D // 200))
            return out, time.perf_counter() - t0

        self._job = run_job(run, on_done=self._rebuilt, on_error=self._rebuild_failed, owner=self)

    def _rebuilt(self, value) -> None:
        self._job = None
        out, seconds = value
        self._partial = out
        self.identical = bool(np.array_equal(out, self.result["images"][0]))
        self.check.setText("✓ identical" if self.identical else "✗ differs")
        self.check.setStyleSheet("color: #2a2; font-size: 18px;" if self.identical else "color: #c22;")
        self.message.emit(f"decoded the first image from {len(self.result['blobs'][0])} bytes in {seconds:.1f} s: "
                          + ("identical" if self.identical else "NOT identical"))
        self._show_partial()
        self.rebuilt.emit(self.identical)

    def _rebuild_failed(self, text: str) -> None:
        self._job = None
        self.identical = False
        self.check.setText("✗ " + text)
        self.rebuilt.emit(False)

    def _show_partial(self) -> None:
        p = self._partial
        if p is None or p is self._shown_partial or self.result is None:
            return
        self._shown_partial = p
        self.rebuild_image.setImage(levels_to_rgb(p, self.result["levels"]).transpose(1, 0, 2), levels=(0, 255))
