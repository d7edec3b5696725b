"""A user's folder of images as a dataset (``images:PATH``).

PNG, JPEG, BMP, WebP and GIF (its first frame) are read with Pillow, either
from one folder or from class subfolders (``cats/``, ``dogs/``: the subfolder
names become labels, usable for class conditioning). Options
(``--data-set KEY=VALUE`` on the command line, the Add dataset… dialog in the
window) are the fields of :class:`ImageFolderOptions`.

A file Pillow cannot read (a text file, a damaged PNG) is skipped and named
with the reason, in ``extras["skipped"]`` and in a logged warning; a folder
with no readable image is one :class:`DataError`. Folders of at least
``CACHE_MIN_FILES`` images are decoded once into a compact uint8 cache
(``(N, C, H, W)`` ``.npy`` under ``~/.cache/arstudio/images`` or
``$ARSTUDIO_CACHE``), memory-mapped on later loads, with a progress bar while
the files are read.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from arstudio.config_check import SettingsError, check_settings
from arstudio.data.registry import DataError, Dataset, register_prefix
from arstudio.spec import DataSpec

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
CACHE_MIN_FILES = 500  # smaller folders are decoded on every load (it takes well under a second)
CACHE_VERSION = 1


@dataclass(frozen=True)
class ImageFolderOptions:
    size: str = ""  # "HxW", e.g. "32x32"; empty: the size of the first readable image
    fit: str = "crop"  # "crop": scale to cover H×W and cut the centre; "resize": stretch to H×W
    colour: str = "auto"  # "grey", "rgb" or "auto" (rgb when the first readable image has a colour pixel)
    levels: int = 256  # 2 (binary), any K from 2 to 256 (K equal bins of 0..255), or 256
    binarize: str = "threshold"  # for levels=2: "threshold" at half intensity or "sample" ~ Bernoulli
    split: str = "0.8,0.1,0.1"  # train,val,test fractions of the shuffled images
    seed: int = 0  # shuffles the images before the split (and draws "sample" binarisation)

    def __post_init__(self):
        if self.size:
            self.hw()  # raises on a malformed size
        if self.fit not in ("crop", "resize"):
            raise SettingsError(f"image option 'fit' must be 'crop' or 'resize', got {self.fit!r}")
        if self.colour not in ("auto", "grey", "gray", "rgb"):
            raise SettingsError(f"image option 'colour' must be 'grey', 'rgb' or 'auto', got {self.colour!r}")
        if not 2 <= self.levels <= 256:
            raise SettingsError(f"image option 'levels' must be 2 … 256, got {self.levels}")
        if self.binarize not in ("threshold", "sample"):
            raise SettingsError(f"image option 'binarize' must be 'threshold' or 'sample', "
                                f"got {self.binarize!r}")
        self.fractions()

    def hw(self) -> tuple[int, int]:
        try:
            h, w = (int(v) for v in str(self.size).lower().replace("×", "x").split("x"))
        except ValueError:
            raise SettingsError(f"image option 'size' must be HxW, e.g. 32x32, got {self.size!r}") from None
        if not (1 <= h <= 4096 and 1 <= w <= 4096):
            raise SettingsError(f"image option 'size' must be between 1x1 and 4096x4096, got {self.size!r}")
        return h, w

    def fractions(self) -> tuple[float, float, float]:
        try:
            parts = [float(v) for v in str(self.split).replace(" ", "").strip("()[]").split(",")]
        except ValueError:
            parts = []
        if len(parts) != 3 or any(p < 0 for p in parts) or not 0.999 <= sum(parts) <= 1.001 or parts[0] <= 0:
            raise SettingsError(f"image option 'split' must be three fractions train,val,test adding up "
                                f"to 1, e.g. 0.8,0.1,0.1, got {self.split!r}")
        return parts[0], parts[1], parts[2]


def image_options(given: dict | None) -> ImageFolderOptions:
    """Options from ``--data-set`` pairs or a recipe's table, every key checked."""
    given = dict(given or {})
    if "size" in given and not isinstance(given["size"], str):  # 32x32 typed as (32, 32) or 32
        s = given["size"]
        given["size"] = "x".join(str(v) for v in (s if isinstance(s, (list, tuple)) else (s, s)))
    if "split" in given and isinstance(given["split"], (list, tuple)):
        given["split"] = ",".join(str(v) for v in given["split"])
    return ImageFolderOptions(**check_settings(ImageFolderOptions, given, "image option"))


def _cache_root() -> Path:
    return Path(os.environ.get("ARSTUDIO_CACHE") or Path.home() / ".cache" / "arstudio") / "images"


def list_image_files(folder: Path) -> tuple[list[tuple[Path, int]], list[str], list[str]]:
    """(path, label) for every file, the class names (empty for a flat folder) and
    the top-level files left out because the folder has class subfolders."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    files_in = {d: sorted(q for q in d.rglob("*") if q.is_file() and not q.name.startswith("."))
                for d in subdirs}
    classes = [d for d in subdirs if files_in[d]]
    top = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not classes:
        return [(p, 0) for p in top], [], []
    out = [(p, i) for i, d in enumerate(classes) for p in files_in[d]]
    return out, [d.name for d in classes], [f"{p.name}: not in a class subfolder" for p in top]


def _open_rgb_or_grey(path: Path):
    """The first frame as a Pillow image in mode "L" or "RGB"; raises on failure."""
    from PIL import Image, ImageOps

    from arstudio.data.registry import MAX_IMAGE_PIXELS, regular_file

    regular_file(path)
    with Image.open(path) as im:
        if im.width * im.height > MAX_IMAGE_PIXELS:  # read from the header, before decoding
            raise ValueError(f"{im.width}×{im.height} pixels, over the limit of {MAX_IMAGE_PIXELS:,}")
        im.seek(0)  # GIF / APNG / WebP animations: the first frame
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("1", "L", "LA", "I", "I;16", "F"):
            return im.convert("L")
        rgb = im.convert("RGB")
        a = np.asarray(rgb)
        if (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all():
            return rgb.convert("L")  # a palette or RGB file whose pixels are all grey
        return rgb


def _fit(im, h: int, w: int, fit: str):
    from PIL import Image

    if im.size == (w, h):
        return im
    if fit == "resize":
        return im.resize((w, h), Image.Resampling.BILINEAR)
    scale = max(w / im.width, h / im.height)  # cover H×W, then cut the centre
    nw, nh = max(w, round(im.width * scale)), max(h, round(im.height * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - w) // 2, (nh - h) // 2
    return im.crop((left, top, left + w, top + h))


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    if "cannot identify image file" in text:
        return "not an image Pillow can read"
    return text.replace("\n", " ")


def _warn_skipped(folder, skipped: list[str]) -> None:
    """One warning line for every file skipped (the first few named), not one line each."""
    if skipped:  # a warning, not a log line: the command line prints it after a command that worked
        import warnings

        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        warnings.warn(f"{folder}: skipped {len(skipped)} file(s): {'; '.join(skipped[:3])}{more}",
                      RuntimeWarning, stacklevel=2)


def decode_folder(folder, options: ImageFolderOptions, progress: Callable[[int, int], None] | None = None,
                  limit: int | None = None):
    """Read every image once: (uint8 array (N, C, H, W), labels (N,), class names,
    skipped "name: reason" lines). ``limit`` stops after that many readable images
    (the dialog's preview). Raises :class:`DataError` when nothing is readable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    entries, classes, skipped = list_image_files(folder)
    if not entries:
        raise DataError(f"{folder}: the folder is empty (expected {', '.join(IMAGE_SUFFIXES)} images, "
                        "in one folder or in class subfolders)")
    hw = options.hw() if options.size else None
    colour = {"gray": "grey"}.get(options.colour, options.colour)
    arrays, labels = [], []
    bar = None
    if progress is None and limit is None and len(entries) >= CACHE_MIN_FILES:
        from tqdm import tqdm

        bar = tqdm(total=len(entries), desc=f"reading {folder.name}", unit="img", disable=not log.isEnabledFor(logging.INFO))
    for i, (path, label) in enumerate(entries):
        try:
            im = _open_rgb_or_grey(path)
        except Exception as e:  # Pillow raises many kinds for damaged files; each is one skip
            skipped.append(f"{path.relative_to(folder)}: {_reason(e)}")
        else:
            if hw is None:
                hw = (im.height, im.width)
            if colour == "auto":
                colour = "grey" if im.mode == "L" else "rgb"
            im = _fit(im.convert("L" if colour == "grey" else "RGB"), hw[0], hw[1], options.fit)
            a = np.asarray(im, dtype=np.uint8)
            arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))  # (C, H, W)
            labels.append(label)
        if bar is not None:
            bar.update(1)
        if progress is not None:
            progress(i + 1, len(entries))
        if limit is not None and len(arrays) >= limit:
            break
    if bar is not None:
        bar.close()
    if not arrays:
        raise DataError(f"{folder}: no readable image among {len(entries)} files; "
                        + "; ".join(skipped[:10]) + (" …" if len(skipped) > 10 else ""))
    return np.stack(arrays), np.asarray(labels, dtype=np.int64), classes, skipped


def _cache_key(folder: Path, entries, options: ImageFolderOptions) -> str:
    h = hashlib.sha1()
    decode = {"size": options.size, "fit": options.fit, "colour": options.colour, "v": CACHE_VERSION}
    h.update(json.dumps([str(folder.resolve()), decode]).encode())
    for path, label in entries:
        st = path.stat()
        h.update(f"{path.relative_to(folder)}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def read_folder_cached(folder, options: ImageFolderOptions, progress=None):
    """:func:`decode_folder`, through the uint8 cache for large folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    entries, _, _ = list_image_files(folder)
    if len(entries) < CACHE_MIN_FILES:
        out = decode_folder(folder, options, progress)
        _warn_skipped(folder, out[3])
        return out
    base = _cache_root() / _cache_key(folder, entries, options)
    npy, meta_path = base.with_suffix(".npy"), base.with_suffix(".json")
    if npy.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            images = np.load(npy, mmap_mode="r", allow_pickle=False)
            log.info("%s: %d images from the cache %s", folder, len(images), npy)
            _warn_skipped(folder, meta["skipped"])
            return images, np.asarray(meta["labels"], dtype=np.int64), meta["classes"], meta["skipped"]
        except (OSError, ValueError, KeyError) as e:
            log.warning("%s: unreadable image cache (%s); reading the folder again", npy, e)
    images, labels, classes, skipped = decode_folder(folder, options, progress)
    _warn_skipped(folder, skipped)
    from arstudio.atomic import atomic_write

    def write_npy(tmp):
        with open(tmp, "wb") as f:
            np.save(f, images, allow_pickle=False)

    try:
        atomic_write(npy, write_npy)
        atomic_write(meta_path, lambda tmp: Path(tmp).write_text(json.dumps(
            {"folder": str(folder.resolve()), "labels": labels.tolist(), "classes": classes,
             "skipped": skipped})))
        images = np.load(npy, mmap_mode="r", allow_pickle=False)
    except OSError as e:  # a read-only home: train from memory, just without the cache
        log.warning("cannot write the image cache %s (%s)", npy, e)
    return images, labels, classes, skipped


def quantize(images: np.ndarray, options: ImageFolderOptions) -> torch.Tensor:
    """uint8 (N, C, H, W) -> long levels 0 .. levels-1."""
    x = np.asarray(images)
    if options.levels == 256:
        out = x.astype(np.int64)
    elif options.levels == 2 and options.binarize == "sample":
        rng = np.random.default_rng(options.seed)  # fixed bits for a given seed
        out = (rng.random(x.shape) < x / 255.0).astype(np.int64)
    elif options.levels == 2:
        out = (x >= 128).astype(np.int64)
    else:  # K equal bins over 0..255
        out = (x.astype(np.int64) * options.levels) // 256
    return torch.from_numpy(out)


def split_indices(n: int, options: ImageFolderOptions) -> list[np.ndarray]:
    f_train, f_val, _ = options.fractions()
    perm = np.random.default_rng(options.seed).permutation(n)
    a = max(1, round(f_train * n))
    b = min(n, a + round(f_val * n))
    if f_val > 0 and b == a and n - a > 1:
        b = a + 1
    # an empty validation or test split would leave nothing to score: borrow the last training image
    val, test = perm[a:b], perm[b:]
    if len(val) == 0:
        val = perm[a - 1:a]
    if len(test) == 0:
        test = val
    return [perm[:a], val, test]


def load_image_folder(folder, options: ImageFolderOptions | dict | None = None, progress=None) -> Dataset:
    folder = Path(folder).expanduser()
    opts = options if isinstance(options, ImageFolderOptions) else image_options(options)
    images, labels, classes, skipped = read_folder_cached(folder, opts, progress)
    x = quantize(images, opts)
    idx = split_indices(len(x), opts)
    tr, va, te = (x[torch.from_numpy(i)] for i in idx)
    spec = DataSpec(tuple(x.shape[1:]), opts.levels)
    extras = {"skipped": skipped, "files": int(len(x)), "source": str(folder)}
    lab = {}
    if classes:
        y = torch.from_numpy(labels)
        lab = {name: y[torch.from_numpy(i)] for name, i in zip(("train", "val", "test"), idx)}
        extras.update(classes=len(classes), label_names=list(classes))
    what = f"{len(x)} images" + (f" in {len(classes)} classes" if classes else "")
    return Dataset(f"images:{folder}", spec, tr, va, te, "the user's own images",
                   description=f"{what} from {folder}" + (f"; {len(skipped)} files skipped" if skipped else ""),
                   labels=lab, extras={**extras, "options": asdict(opts)})


@register_prefix("images", options=ImageFolderOptions,
                 description="a folder of PNG/JPEG/BMP/WebP/GIF images, or class subfolders of them")
def _images_prefix(path: str, options: dict) -> Dataset:
    return load_image_folder(path, options)
