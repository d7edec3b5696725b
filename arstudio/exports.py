"""Files a user takes home: PNG grids with their facts in text chunks, fill and
sampling animations (GIF and APNG through Pillow), generated text, a run's
curves as CSV, and images read back as a model's data for headless
completion. No Qt; the window's Save image… / Save animation… call these too.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

SOFTWARE = "ARStudio"
MARK = (255, 40, 40)  # the current pixel's outline in animations
MAX_FRAMES = 400  # longer animations keep every k-th frame (and always the last)


# --- PNG with text chunks ----------------------------------------------------------------------
def png_info(facts: dict | None):
    """A Pillow PngInfo holding ``facts`` as tEXt chunks (iTXt for non-Latin-1 text)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    for key, value in (facts or {}).items():
        if value is None:
            continue
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        try:
            text.encode("latin-1")
            info.add_text(str(key)[:79], text)
        except UnicodeEncodeError:
            info.add_itxt(str(key)[:79], text)
    return info


def save_png(array: np.ndarray, path, facts: dict | None = None) -> Path:
    """(H, W, 3) or (H, W) uint8 -> PNG, written atomically, with ``facts`` in text chunks."""
    from PIL import Image

    from arstudio.atomic import atomic_write

    path = Path(path)
    info = png_info(facts)
    atomic_write(path, lambda tmp: Image.fromarray(np.ascontiguousarray(array)).save(tmp, format="PNG",
                                                                                      pnginfo=info))
    return path


def model_facts(model, **more) -> dict:
    """What a saved image says about where it came from: model, data, bits/dim."""
    meta = model.checkpoint_meta
    bpd = (meta.get("metrics") or {}).get("test_bpd")
    facts = {"Model": model.registry_name, "Data": meta.get("dataset") or model.spec.describe(),
             "Spec": model.spec.describe(), "Bits per dim": f"{bpd:.4f}" if isinstance(bpd, float) else bpd}
    if meta.get("run"):
        facts["Run"] = meta["run"]
    facts.update(more)
    return facts


def samples_png(samples, spec, path, facts: dict | None = None, scale: int | None = None) -> Path:
    """A grid of samples of any modality (sequences one row each), with ``facts``."""
    from arstudio.imaging import samples_grid

    return save_png(samples_grid(samples, spec, scale), path, facts)


# --- animations --------------------------------------------------------------------------------
def grid_frame(x, spec, index: int | None = None, cols: int | None = None, scale: int = 4,
               pad: int = 1) -> np.ndarray:
    """One animation frame: the grid of images ``x`` (n, C, H, W) with the pixel at
    flattened ``index`` (over C·H·W; its (h, w) in every tile) outlined."""
    from arstudio.imaging import grid

    n = len(x)
    cols = cols or math.ceil(math.sqrt(n))
    frame = grid(x, spec.levels, cols=cols, pad=pad, scale=scale)
    if index is None or index < 0:
        return frame
    C, H, W = spec.shape
    h, w = divmod(int(index) % (H * W), W)
    for i in range(n):
        r, c = divmod(i, cols)
        top = (pad + r * (H + pad) + h) * scale
        left = (pad + c * (W + pad) + w) * scale
        _outline(frame, top, left, scale)
    return frame


def _outline(frame, top, left, size):
    t = max(1, size // 4)
    b, r = top + size, left + size
    frame[max(0, top - t):top, max(0, left - t):r + t] = MARK
    frame[b:b + t, max(0, left - t):r + t] = MARK
    frame[top:b, max(0, left - t):left] = MARK
    frame[top:b, r:r + t] = MARK


def thin(frames: list, limit: int = MAX_FRAMES) -> list:
    """At most ``limit`` frames, evenly spaced, the last one always kept."""
    if len(frames) <= limit:
        return frames
    keep = np.linspace(0, len(frames) - 1, limit).round().astype(int)
    return [frames[i] for i in sorted(set(keep.tolist()))]


def save_animation(frames: Iterable[np.ndarray], path, fps: float = 20.0, hold_last_s: float = 1.0,
                   facts: dict | None = None, loop: int = 0) -> Path:
    """Frames (H, W, 3) uint8 -> an animated GIF (``.gif``) or APNG (``.png``/``.apng``) at
    ``fps`` frames per second; the last frame stays ``hold_last_s`` seconds."""
    from PIL import Image

    from arstudio.atomic import atomic_write

    path = Path(path)
    frames = [np.ascontiguousarray(f) for f in frames]
    if not frames:
        raise ValueError("no frames to save")
    if not 0.1 <= fps <= 100:
        raise ValueError(f"frame rate must be between 0.1 and 100 per second, got {fps}")
    images = [Image.fromarray(f) for f in frames]
    step_ms = max(10, int(round(1000 / fps)))
    durations = [step_ms] * len(images)
    durations[-1] = max(step_ms, int(1000 * hold_last_s))
    suffix = path.suffix.lower()
    if suffix == ".gif":
        # one palette for all frames (the last, most complete one, and the mark's colour) so
        # colours do not flicker
        last = frames[-1] if frames[-1].ndim == 3 else np.repeat(frames[-1][..., None], 3, -1)
        strip = np.zeros((4, last.shape[1], 3), np.uint8)
        strip[:] = MARK
        palette = Image.fromarray(np.concatenate([last, strip])).quantize(colors=255,
                                                                         method=Image.Quantize.MEDIANCUT)
        quantized = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]

        def write(tmp):
            quantized[0].save(tmp, format="GIF", save_all=True, append_images=quantized[1:],
                              duration=durations, loop=loop, disposal=1, optimize=False,
                              comment=f"{SOFTWARE}: {facts}" if facts else SOFTWARE)
    elif suffix in (".png", ".apng"):
        info = png_info(facts)

        def write(tmp):
            images[0].save(tmp, format="PNG", save_all=True, append_images=images[1:], duration=durations,
                           loop=loop, pnginfo=info, default_image=False)
    else:
        raise ValueError(f"{path.name}: an animation is .gif or .png (APNG)")
    atomic_write(path, write)
    return path


def animation_frames(steps, spec, every: int = 1, cols: int | None = None, scale: int = 4) -> list:
    """Frames from a stream of (x (n, C, H, W), index) pairs, e.g. completion steps."""
    frames = []
    last = None
    for k, (x, index) in enumerate(steps):
        last = (x, index)
        if k % every == 0:
            frames.append(grid_frame(x, spec, index, cols, scale))
    if last is not None:
        frames.append(grid_frame(last[0], spec, None, cols, scale))  # the finished grid, unmarked
    return frames


# --- generated text ----------------------------------------------------------------------------
def is_text_model(model) -> bool:
    meta = model.checkpoint_meta
    data = str(meta.get("dataset") or "")
    return model.spec.modality == "sequence" and (
        meta.get("encoding") == "characters" or data == "text" or data.startswith("text:"))


def save_text_samples(x, path, facts: dict | None = None) -> Path:
    from arstudio.atomic import atomic_write
    from arstudio.data.text import decode_text

    blocks = [f"--- sample {i + 1} ---\n{decode_text(row)}" for i, row in enumerate(x)]
    head = "".join(f"# {k}: {v}\n" for k, v in (facts or {}).items() if v is not None)
    text = head + "\n" + "\n\n".join(blocks) + "\n"
    path = Path(path)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


# --- curves ------------------------------------------------------------------------------------
CURVE_COLUMNS = ("step", "kind", "split", "bpd", "nats", "lr", "examples_per_s", "elapsed_s")


def curve_rows(run) -> list[dict]:
    """Every training-loss and evaluation point of a run, in step order; points a resume
    redid (logged after its state, before the stop) are dropped, as the window does."""
    events, _ = run.events()
    rows: list[dict] = []
    for e in events:
        kind = e.get("event")
        if kind == "continued":
            at = int(e.get("step", 0))
            rows = [r for r in rows if r["step"] <= at]
        elif kind == "step":
            rows.append({"step": int(e["step"]), "kind": "train", "split": "train", "bpd": e.get("bpd"),
                         "nats": e.get("loss"), "lr": e.get("lr"), "examples_per_s": e.get("examples_per_s"),
                         "elapsed_s": e.get("elapsed")})
        elif kind == "eval":
            rows.append({"step": int(e["step"]), "kind": "eval", "split": e.get("split"), "bpd": e.get("bpd"),
                         "nats": e.get("nats"), "lr": None, "examples_per_s": None, "elapsed_s": None})
    return rows


def write_curves_csv(run, path) -> Path:
    from arstudio.atomic import atomic_write

    rows = curve_rows(run)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CURVE_COLUMNS)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r[k] is None else r[k]) for k in CURVE_COLUMNS})

    atomic_write(Path(path), write)
    return Path(path)


# --- images as a model's data ------------------------------------------------------------------
def image_as_data(path, spec):
    """An image file as (C, H, W) levels of ``spec``: resized to H×W (area average when
    shrinking), grey or RGB as the
    model wants, each 8-bit value mapped to the nearest level (the inverse of display)."""
    import torch
    from PIL import Image, UnidentifiedImageError

    C, H, W = spec.shape
    from arstudio.untrusted import FileRefused, open_image

    try:
        with open_image(path) as im:
            im.seek(0)
            im = im.convert("L" if C == 1 else "RGB")
            if im.size != (W, H):  # area average when shrinking, bilinear when growing
                shrink = im.width >= W and im.height >= H
                im = im.resize((W, H), Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float64)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the image ({e})" if not isinstance(e, FileRefused) else str(e)) from None
    arr = arr.reshape(H, W, -1).transpose(2, 0, 1)[:C]
    if spec.levels is None:
        return torch.from_numpy((arr / 127.5 - 1.0).astype(np.float32))
    return torch.from_numpy(np.rint(arr * (spec.levels - 1) / 255.0).astype(np.int64))


def unknown_mask(path, spec):
    """A mask image: its non-zero pixels are the unknown ones. Returns the (C, H, W) bool
    mask of *known* entries that completion keeps (every channel of a pixel alike)."""
    import torch
    from PIL import Image, UnidentifiedImageError

    C, H, W = spec.shape
    from arstudio.untrusted import FileRefused, open_image

    try:
        with open_image(path) as im:
            im.seek(0)
            im = im.convert("L")
            if im.size != (W, H):
                im = im.resize((W, H), Image.Resampling.NEAREST)
            unknown = np.asarray(im) > 0
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the mask ({e})" if not isinstance(e, FileRefused) else str(e)) from None
    if not unknown.any():
        raise ValueError(f"{path}: the mask has no non-zero pixel, so nothing is unknown")
    known = torch.from_numpy(~unknown)
    return known.unsqueeze(0).expand(C, H, W).clone()
