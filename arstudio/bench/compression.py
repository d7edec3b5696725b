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
import time

import torch

from arstudio.cli import OneLineParser
from arstudio.codec.classic import image_arrays, jxl_bytes, png_bytes, stream_sizes, webp_bytes

# data set -> the bundled model that codes it (None: no bundled model for it yet)
ROWS = {
    "mnist5k-binary": "pixelcnn-mnist5k-binary",  # the fastest cached stepper of the 28×28 models
    "mnist5k": "pixelcnn-mnist5k",  # 256 levels: a small CPU PixelCNN
    "digits": "pixelcnn++-digits",
    "shapes-colour": "pixelcnn-shapes-colour",
    "text": "rnn-arm-text",
    "tones": "wavenet-tones",
}


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
    p = OneLineParser(prog="arstudio bench compression", description=__doc__.split("\n\n")[0])
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
