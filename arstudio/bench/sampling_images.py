"""Naive vs cached sampling of binary 28×28 images, side by side.

``arstudio bench sampling [--device cuda] [--n 64] [--quick] [--models a,b]
[--checkpoint PATH ...]``

For each model (untrained weights: the cost does not depend on them) it
times ``model.sample(n, naive=True)`` (one full network pass per pixel) and
``model.sample(n)`` (the model's cached stepper), checks that both give the
same samples for the same seed, and prints the times and their ratio.
Timings are synchronised on CUDA and follow a warm-up of the same path.
``--quick`` (for CPU) uses 4 samples and times only the first row (28
pixels) of both paths: naive costs the same for every pixel, the cached
path is cheapest on the first rows, so the ratio there is an upper estimate
for convolutions and close for attention. ``--checkpoint PATH`` (repeatable)
times trained checkpoints instead, e.g. the bundled
``models/pixelrnn-row-mnist5k-binary.safetensors``, on their own data shape.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.cli import OneLineParser
from arstudio.models.registry import build_model
from arstudio.spec import DataSpec

# the configurations of the reference figures (64 binary 28×28 samples)
CONFIGS = {
    "gated-pixelcnn": {"channels": 128, "layers": 10, "skip_channels": 128, "head_channels": 128},
    "pixelsnail": {"channels": 64, "layers": 8},
    "pixelcnn": {},
    # the bundled mnist5k checkpoints' configurations
    "pixelrnn-row": {"hidden": 32, "layers": 3},
    "pixelrnn-diag": {"hidden": 32, "layers": 3},
    "pixelcnn++": {"channels": 48, "resnets": 2, "scales": 3},
}


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def generate(model, n, pixels, naive, seed):
    """The first ``pixels`` pixels of n samples (all when pixels is None)."""
    gen = torch.Generator().manual_seed(seed)
    last = None
    for step in model.sample_steps(n, generator=gen, naive=naive):
        last = step
        if pixels is not None and step.step + 1 >= pixels:
            break
    return last.x.clone()


def timed(model, n, pixels, naive, seed, device):
    sync(device)
    t0 = time.perf_counter()
    out = generate(model, n, pixels, naive, seed)
    sync(device)
    return time.perf_counter() - t0, out


def label(row: str) -> str:
    """A table row's name: the model's, or the checkpoint file's stem."""
    return Path(row).name.removesuffix(".safetensors")


def load(row: str, is_checkpoint: bool, seed: int, device):
    """A trained checkpoint, or the model ``row`` untrained on binary 28×28 images."""
    if is_checkpoint:
        return load_checkpoint(row, device)
    torch.manual_seed(seed)
    return build_model(row, DataSpec((1, 28, 28), 2), **CONFIGS[row]).to(device).eval()


def build_parser():
    p = OneLineParser(prog="arstudio bench sampling", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n", type=int, default=None, help="samples (default 64, 4 with --quick)")
    p.add_argument("--quick", action="store_true", help="CPU: 4 samples, first row only")
    p.add_argument("--pixels", type=int, default=None, help="time only the first P pixels")
    p.add_argument("--models", default=",".join(CONFIGS), help="comma-separated subset")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: 1 with --quick, where the cached path's "
                        "small operations only lose from threading)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="PATH",
                   help="time this trained checkpoint (repeatable) instead of --models")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    threads = args.threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
    n = args.n or (4 if args.quick else 64)
    pixels = args.pixels or (28 if args.quick else None)
    if args.checkpoint:
        images, what = "images of each checkpoint's shape", f"first {pixels} pixels" if pixels else "all pixels"
    else:
        images, what = "binary 28×28 images", f"{pixels} of 784 pixels" if pixels else "784 pixels"
    print(f"sampling {n} {images} ({what}) on {args.device}, torch {torch.__version__}")
    rows = args.checkpoint or args.models.split(",")
    width = max(16, *(len(label(row)) for row in rows))
    header = f"{'model':{width}s} {'params':>9s} {'naive s':>9s} {'cached s':>9s} {'speed-up':>9s}  same"
    print(header)
    print("-" * len(header))
    for row in rows:
        model = load(row, bool(args.checkpoint), args.seed, args.device)
        # warm-up: kernels, allocator, cuDNN choices (a few pixels are enough on a CPU)
        warm = min(pixels or 784, 30 if torch.device(args.device).type != "cpu" else 2)
        generate(model, n, warm, True, args.seed)
        generate(model, n, warm, False, args.seed)
        t_naive, a = timed(model, n, pixels, True, args.seed, args.device)
        t_cached, b = timed(model, n, pixels, False, args.seed, args.device)
        same = bool(torch.equal(a, b))
        print(f"{label(row):{width}s} {model.num_parameters():9,d} {t_naive:9.2f} {t_cached:9.2f} "
              f"{t_naive / t_cached:8.1f}×  {'yes' if same else 'NO'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
