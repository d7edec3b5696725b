"""Compressed sizes: the bundled models' .arz files beside their NLL and the usual codecs.

``arstudio bench compression`` codes each data set's test split with its bundled
model (``arstudio compress``, then ``arstudio decompress`` to check the round
trip) and prints one README row per set, in bits per dimension (pixel, sample or
character):

- NLL: the model's own -log2 p(x) of the split (teacher forcing, unquantised);
- .arz: the whole file (header included), then its coded payload's overhead over
  the NLL and the header's share;
- images, each image its own file as a user would store it: PNG (the smallest of
  1/2/4/8-bit greyscale or RGB, ``optimize``), lossless WebP (``method=6``) and
  lossless JPEG XL (``effort=9``, the ``pillow-jxl-plugin`` package);
- text and sound, the whole split as one stream: gzip -9, bz2 -9, xz -9 and, for
  sound, FLAC of the 8-bit mu-law codes (the same information the model codes).

Every classic codec's output is decoded again and compared with its input.
"""
from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import time

import numpy as np
import torch

# data set -> the bundled model that codes it (None: no bundled model for it yet)
ROWS = {
    "mnist5k-binary": "gated-pixelcnn-mnist5k-binary",
    "mnist5k": None,
    "digits": "pixelcnn++-digits",
    "shapes-colour": None,
    "text": "rnn-arm-text",
    "tones": "wavenet-tones",
}


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


def measure(dataset: str, key: str | None, n: int | None, batch: int | None, device: str = "cpu") -> dict:
    from arstudio import codec
    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.paths import BUNDLED_MODELS

    data = load_dataset(dataset)
    x = data.test if n is None else data.test[:n]
    dims = x[0].numel()
    total_dims = len(x) * dims
    row = {"dataset": dataset, "model": key, "n": len(x), "dims": dims}
    kind = codec.files.dataset_kind(data)
    if key is not None:
        model = load_checkpoint(BUNDLED_MODELS / f"{key}.safetensors", device)
        items = codec.load_split(model, dataset, "test", n)
        t0 = time.perf_counter()
        c = codec.compress(model, key, items, batch)
        t1 = time.perf_counter()
        back = codec.decompress(c.blob, model)
        t2 = time.perf_counter()
        assert torch.equal(back.codes, items.codes), "the .arz round trip is not exact"
        nll_bits = float(c.nll_bits.sum())
        row.update(nll=nll_bits / total_dims, arz=8 * len(c.blob) / total_dims,
                   coded_overhead=100 * (8 * c.payload_bytes / nll_bits - 1),
                   file_overhead=100 * (8 * len(c.blob) / nll_bits - 1), header=c.header_bytes,
                   bytes_per=len(c.blob) / len(x), encode_s=t1 - t0, decode_s=t2 - t1)
    if kind == "images":
        arrays = image_arrays(x, data.spec.levels)
        sizes = {"PNG": sum(png_bytes(a, data.spec.levels) for a in arrays),
                 "WebP": sum(webp_bytes(a) for a in arrays)}
        jxl = [jxl_bytes(a) for a in arrays]
        if None not in jxl:
            sizes["JPEG XL"] = sum(jxl)
    else:
        sizes = stream_sizes(x, kind, data.extras.get("sample_rate", 8000))
    row["codecs"] = {k: 8 * v / total_dims for k, v in sizes.items()}
    return row


def table(rows: list[dict]) -> list[str]:
    names = ["PNG", "WebP", "JPEG XL", "gzip", "bz2", "xz", "FLAC"]
    out = ["| data | model | examples | NLL | .arz file | coded over NLL | header | bytes/example | "
           + " | ".join(names) + " |", "|---" * (8 + len(names)) + "|"]
    for r in rows:
        cells = [r["dataset"], r["model"] or "(no bundled model)", str(r["n"])]
        if r["model"]:
            cells += [f"{r['nll']:.4f}", f"{r['arz']:.4f}", f"+{r['coded_overhead']:.2f} %",
                      f"{r['header']} B (+{r['file_overhead'] - r['coded_overhead']:.2f} %)",
                      f"{r['bytes_per']:.1f}"]
        else:
            cells += ["", "", "", "", ""]
        cells += [f"{r['codecs'][k]:.3f}" if k in r["codecs"] else "" for k in names]
        out.append("| " + " | ".join(cells) + " |")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="arstudio bench compression", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", help="just these data sets (repeatable)")
    p.add_argument("--n", type=int, help="first N test examples (default: the whole test split)")
    p.add_argument("--batch", type=int, help="rows per stepper run (default 32)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for dataset, key in ROWS.items():
        if args.only and dataset not in args.only:
            continue
        r = measure(dataset, key, args.n, args.batch, args.device)
        rows.append(r)
        if key:
            print(f"# {dataset}: {key} coded {r['n']} examples in {r['encode_s']:.1f} s, decoded exactly "
                  f"in {r['decode_s']:.1f} s", flush=True)
    print("bits per dimension (pixel, sample or character); classic codecs on the same test examples")
    for line in table(rows):
        print(line)
    missing = [d for d, k in ROWS.items() if k is None and (not args.only or d in args.only)]
    if missing:
        print(f"no bundled model yet for {', '.join(missing)}: codec columns only")
