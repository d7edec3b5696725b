"""The usual lossless codecs, for comparison and for input complexity (Serrà et al. 2020):
PNG, lossless WebP and JPEG XL per image (Pillow, ``pillow-jxl-plugin``); gzip, bz2, xz and
FLAC for streams. Every output is decoded again and compared with its input."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma

import numpy as np
import torch


def image_arrays(x: torch.Tensor, levels: int) -> list[np.ndarray]:
    """(N, C, H, W) levels -> uint8 (H, W) or (H, W, 3) arrays scaled to 0..255."""
    arr = np.rint(x.numpy().astype(np.float64) * 255.0 / (levels - 1)).astype(np.uint8)
    return [a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0) for a in arr]


def _save(im, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _check(blob: bytes, arr: np.ndarray, what: str) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as im:
        back = np.asarray(im.convert("L" if arr.ndim == 2 else "RGB"))
    if not np.array_equal(back, arr):
        raise AssertionError(f"{what} did not round-trip")
    return len(blob)


def png_bytes(arr: np.ndarray, levels: int) -> int:
    from PIL import Image

    candidates = [_save(Image.fromarray(arr), "PNG", optimize=True)]
    if arr.ndim == 2 and levels <= 16:  # a palette of the levels at 1, 2 or 4 bits per pixel
        bits = 1 if levels <= 2 else 2 if levels <= 4 else 4
        idx = np.rint(arr.astype(np.float64) * (levels - 1) / 255.0).astype(np.uint8)
        pal = Image.fromarray(idx, "P")
        grey = [round(k * 255 / (levels - 1)) for k in range(levels)]
        pal.putpalette([v for g in grey for v in (g, g, g)])
        candidates.append(_save(pal, "PNG", optimize=True, bits=bits))
    return min(_check(b, arr, "PNG") for b in candidates)


def webp_bytes(arr: np.ndarray) -> int:
    from PIL import Image

    im = Image.fromarray(arr).convert("RGB")  # WebP stores RGB; grey images stay grey on reading
    return _check(_save(im, "WEBP", lossless=True, quality=100, method=6), arr, "WebP")


def jxl_bytes(arr: np.ndarray) -> int | None:
    try:
        import pillow_jxl  # noqa: F401  (registers JPEG XL with Pillow)
    except ImportError:
        return None
    from PIL import Image

    return _check(_save(Image.fromarray(arr), "JXL", lossless=True, effort=9), arr, "JPEG XL")


def stream_sizes(codes: torch.Tensor, kind: str, rate: int) -> dict[str, int]:
    """gzip/bz2/xz (and FLAC for sound) of a whole split as one stream, each checked."""
    if kind == "text":
        from arstudio.data.text import decode_text

        raw = decode_text(codes.reshape(-1)).encode()
    else:
        raw = codes.reshape(-1).numpy().astype(np.uint8).tobytes()
    out = {}
    for name, mod in (("gzip", gzip), ("bz2", bz2), ("xz", lzma)):
        blob = mod.compress(raw, preset=9) if mod is lzma else mod.compress(raw, 9)
        assert mod.decompress(blob) == raw, f"{name} did not round-trip"
        out[name] = len(blob)
    if kind == "sound":
        import soundfile

        pcm = (codes.reshape(-1).numpy().astype(np.int16) - 128).astype(np.int8)
        buf = io.BytesIO()
        soundfile.write(buf, pcm.astype(np.float64) / 128.0, rate, format="FLAC", subtype="PCM_S8")
        buf.seek(0)
        back, _ = soundfile.read(buf, dtype="float64")
        assert np.array_equal(np.rint(back * 128).astype(np.int16), pcm.astype(np.int16)), "FLAC"
        out["FLAC"] = len(buf.getvalue())
    return out


def png_bits(x: torch.Tensor, levels: int) -> np.ndarray:
    """(N, C, H, W) levels -> PNG size of each image in bits (the complexity L(x))."""
    return np.array([8 * png_bytes(a, levels) for a in image_arrays(x, levels)], dtype=np.float64)


def gzip_bits(x: torch.Tensor) -> np.ndarray:
    """(N, T) codes -> gzip -9 size of each row (as bytes) in bits."""
    rows = x.reshape(len(x), -1).numpy().astype(np.uint8)
    return np.array([8 * len(gzip.compress(r.tobytes(), 9)) for r in rows], dtype=np.float64)
