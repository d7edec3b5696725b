"""File → Save image… and Save animation…: what is on screen, taken home.

Save image… writes the current tab's picture as a PNG whose text chunks say
where it came from (model, data, seed, bits/dim; :func:`arstudio.exports.save_png`):
the Samples grid, the Complete tab's completions (or the canvas before any), the
Train tab's sample grid at the step shown (a run's, or a bundled model's shipped one),
the Inspect page's own views (the image with its receptive field, the timeline and the
conditional chart, the masks, the attention maps, the skew; without the controls), and
for every other view the view itself as drawn. Save animation… makes the pixel-by-pixel fill of the Complete
tab's canvas (its method, n, temperature and seed), or on the Samples tab the
sampling of the bundled model from nothing, as a GIF or APNG at a chosen frame
rate with the current pixel outlined (:func:`arstudio.sampling.animation.fill_animation`).

The window thread only gathers what is shown (arrays, paths, settings); decoding,
generating and writing run in a pool thread, and every failure is a message.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog

from arstudio.checkpoint import CheckpointError
from arstudio.gui.workers import run_job

DEFAULT_FPS = 20.0


class SaveError(Exception):
    """Nothing to save here, with the reason for the user."""


def checkpoint_facts(path) -> dict:
    from arstudio.checkpoint import read_metadata

    meta = read_metadata(path)
    bpd = (meta.get("metrics") or {}).get("test_bpd")
    if bpd is None:
        bpd = (meta.get("metrics") or {}).get("val_bpd")
    return {"Model": meta.get("model"), "Data": meta.get("dataset"),
            "Bits per dim": f"{bpd:.4f}" if isinstance(bpd, float) else bpd, "Checkpoint": Path(path).name}


def _scale(h: int, w: int) -> int:
    return max(1, 128 // max(h, w))


def widget_rgb(widget) -> np.ndarray:
    """A widget as drawn now, (H, W, 3) uint8."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)[:, :w * 3] \
        .reshape(h, w, 3).copy()


def tile_views(rows, pad: int = 6) -> np.ndarray:
    """Widgets as drawn, each row's side by side and the rows one under the other, on white
    with ``pad`` pixels between them: the views of a page without its controls."""
    pictures = [[widget_rgb(widget) for widget in row] for row in rows if row]
    heights = [max(p.shape[0] for p in row) for row in pictures]
    widths = [sum(p.shape[1] for p in row) + pad * (len(row) - 1) for row in pictures]
    out = np.full((sum(heights) + pad * (len(pictures) - 1), max(widths), 3), 255, np.uint8)
    y = 0
    for row, height in zip(pictures, heights):
        x = 0
        for p in row:
            out[y:y + p.shape[0], x:x + p.shape[1]] = p
            x += p.shape[1] + pad
        y += height + pad
    return out


class Saver(QObject):
    saved = Signal(object)  # the Path written
    failed = Signal(str)

    def __init__(self, window, tabs):
        super().__init__(window)
        self.window = window
        self.tabs = tabs  # the window's TABS rows (given: a shared module never imports the window)
        self.busy = False

    def _tab(self) -> str:
        w = self.window
        current = w.tabs.currentWidget()
        return next((t.attr for t in self.tabs if getattr(w, t.attr, None) is current), "")

    # --- what is on screen ------------------------------------------------------------------
    def image(self) -> tuple[np.ndarray | str, dict, str]:
        """(RGB array, or a PNG path to read, facts, a file name) of the current view."""
        w, tab = self.window, self._tab()
        if tab == "samples":
            model = w.samples.current()
            if model is None or w.samples.grid_array is None:
                raise SaveError("no samples on screen yet")
            facts = {**checkpoint_facts(model.path), "Seed": w.samples._seed,
                     "Temperature": float(w.samples.temperature.value()), "View": "samples"}
            return w.samples.grid_array, facts, f"{model.key}-samples.png"
        if tab == "complete":
            from arstudio.exports import grid_frame
            from arstudio.gui.pixelview import UNKNOWN_RGB, levels_to_rgb

            c = w.complete
            if c.path is None or c.spec is None:
                raise SaveError("no image model in the Complete tab")
            facts = {**checkpoint_facts(c.path), "Method": c.method.currentText(), "Seed": c._seed,
                     "Temperature": float(c.temperature.value())}
            _, h, wd = c.spec.shape
            if c.frames is not None:
                import torch

                return grid_frame(torch.as_tensor(np.asarray(c.frames)), c.spec, None, scale=_scale(h, wd)), \
                    {**facts, "View": "completions"}, "completions.png"
            known, mask = c.canvas.known_and_mask()
            rgb = levels_to_rgb(known, c.spec.levels)
            rgb = np.where(mask.all(0)[..., None], rgb, np.array(UNKNOWN_RGB, np.uint8))
            s = _scale(h, wd)
            return rgb.repeat(s, 0).repeat(s, 1), {**facts, "View": "canvas (magenta: unknown)"}, "canvas.png"
        if tab == "train_tab" and w.train.follower is not None and w.train.view.shown_step is not None:
            f, step = w.train.follower, w.train.view.shown_step
            png = next((p for s, p in f.sample_grids() if s == step), None)
            if png is not None:
                cfg = f.config
                facts = {"Model": cfg.get("model"), "Data": cfg.get("dataset"), "Run": f.path.name,
                         "Step": step, "Seed": (cfg.get("train") or {}).get("seed"), "View": "samples"}
                ckpt = f.run.latest_checkpoint()
                if ckpt is not None:
                    with contextlib.suppress(CheckpointError, OSError):  # being written: no figure
                        facts["Bits per dim"] = checkpoint_facts(ckpt)["Bits per dim"]
                return str(png), facts, f"{f.path.name}-step{step}.png"
        if tab == "inspect":  # the page's own views (image and field, the chart, …), not its controls
            shown = w.inspect.saved_views()
            if shown is None:
                raise SaveError("nothing inspected on this page yet: pick a model (and a pixel or a step)")
            rows, facts = shown
            ckpt = w.state.get("checkpoint")
            if ckpt is not None:
                with contextlib.suppress(CheckpointError, OSError):
                    facts = {**checkpoint_facts(ckpt), **facts}
            name = facts["View"].split("·")[-1].strip().lower().replace(" ", "-")
            return tile_views(rows), facts, f"inspect-{name}.png"
        view = w.train.view
        if tab == "train_tab" and w.train.follower is None and view.bundled is not None \
                and view.shown_array is not None:  # a bundled model's shipped sample grid, at its step
            b = view.bundled
            facts = {**checkpoint_facts(b.path), "Step": view.shown_step, "View": "samples (shipped history)"}
            return view.shown_array, facts, f"{b.key}-step{view.shown_step}.png"
        # any other view: the view as drawn (inspector, compare, compress, anomaly, topics, …)
        title = w.tabs.tabText(w.tabs.currentIndex())
        facts = {"View": title}
        ckpt = w.state.get("checkpoint")
        if ckpt is not None:
            with contextlib.suppress(CheckpointError, OSError):  # saved without the model's facts
                facts.update(checkpoint_facts(ckpt))
        return widget_rgb(w.tabs.currentWidget()), facts, f"{title.lower()}.png"

    def animation(self) -> tuple[dict, str]:
        """Arguments of :func:`arstudio.sampling.animation.fill_animation` for the current view, and a name."""
        w, tab = self.window, self._tab()
        if tab == "complete":
            c = w.complete
            if c.path is None or c.spec is None:
                raise SaveError("no image model in the Complete tab")
            if c.run is not None:
                raise SaveError("a completion is running; save its animation when it ends")
            known, mask = c.canvas.known_and_mask()
            if mask.all():
                raise SaveError("nothing is unknown on the canvas: paint 'unknown' over what the model "
                                "should draw")
            _, h, wd = c.spec.shape
            return {"path": c.path, "known": known, "mask": mask, "n": c.count.value(),
                    "method": c.method.currentText(), "temperature": float(c.temperature.value()),
                    "seed": max(c._seed, 1), "scale": _scale(h, wd)}, "fill.gif"
        if tab == "samples":
            model = w.samples.current()
            if model is None:
                raise SaveError("no bundled model chosen")
            spec = model.metadata["spec"]
            if spec.get("modality") != "image" or spec.get("levels") is None \
                    or str(model.metadata.get("dataset", "")).startswith("vqcodes:"):
                raise SaveError(f"{model.model} does not draw pixel by pixel ({model.dataset}); "
                                "choose an image model")
            shape = tuple(spec["shape"])
            return {"path": model.path, "known": np.zeros(shape, np.int64), "mask": np.zeros(shape, bool),
                    "n": w.samples.count.value(), "method": "raster",
                    "temperature": float(w.samples.temperature.value()), "seed": max(w.samples._seed, 1),
                    "scale": _scale(*shape[1:])}, f"{model.key}-sampling.gif"
        raise SaveError("Save animation… makes the fill of the Complete tab's canvas, or the sampling "
                        "of the Samples tab's model: go to one of them")

    # --- saving ---------------------------------------------------------------------------------
    def save_image_dialog(self):
        try:
            _, _, name = self.image()
        except SaveError as e:
            return self._failed(str(e))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save image", name, "PNG image (*.png)")
        if path:
            self.save_image(path)

    def save_image(self, path):
        """Write the current view's picture (PNG with facts) in a pool thread; False when there is none."""
        try:
            picture, facts, _ = self.image()
        except SaveError as e:
            self._failed(str(e))
            return False
        run_job(_write_png, picture, Path(path), facts, on_done=self._done, on_error=self._failed, owner=self)
        self.window.show_message(f"saving {path}…")
        return True

    def save_animation_dialog(self):
        try:
            _, name = self.animation()
        except SaveError as e:
            return self._failed(str(e))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save animation", name,
                                              "GIF animation (*.gif);;Animated PNG (*.png)")
        if not path:
            return
        fps, ok = QInputDialog.getDouble(self.window, "Save animation", "Frames per second", DEFAULT_FPS,
                                         0.5, 100.0, 1)
        if ok:
            self.save_animation(path, fps)

    def save_animation(self, path, fps: float = DEFAULT_FPS):
        """Generate and write the animation in a pool thread; False when it cannot start."""
        path = Path(path)
        if path.suffix.lower() not in (".gif", ".png", ".apng"):
            self._failed(f"{path.name}: an animation is .gif or .png (APNG)")
            return False
        if self.busy:
            self._failed("an animation is being made; wait for it to finish")
            return False
        try:
            args, _ = self.animation()
        except SaveError as e:
            self._failed(str(e))
            return False
        self.busy = True
        run_job(_write_animation, args, path, float(fps), on_done=self._done, on_error=self._failed, owner=self)
        self.window.show_message(f"making the animation {path.name} (pixel by pixel, in the background)…")
        return True

    def _done(self, path):
        self.busy = False
        self.window.show_message(f"saved {path}")
        self.saved.emit(Path(path))

    def _failed(self, text: str):
        self.busy = False
        self.window.show_message(f"not saved: {text}")
        self.failed.emit(text)


def _write_png(picture, path: Path, facts: dict) -> Path:
    from arstudio.exports import save_png

    if isinstance(picture, str):
        from PIL import Image

        with Image.open(picture) as im:
            picture = np.asarray(im.convert("RGB"))
    return save_png(picture, path, facts)


def _write_animation(args: dict, path: Path, fps: float) -> Path:
    from arstudio.exports import save_animation
    from arstudio.sampling.animation import fill_animation

    frames, facts = fill_animation(**args)
    return save_animation(frames, path, fps=fps, facts=facts)
