"""Naive vs cached sampling of binary 28×28 images, side by side.

``arstudio bench sampling [--device cuda] [--n 64] [--quick] [--checkpoint FILE]``

For each model (untrained weights: the cost does not depend on them) it
times ``model.sample(n, naive=True)`` (one full network pass per pixel) and
``model.sample(n)`` (the model's cached stepper), checks that both give the
same samples for the same seed, and prints the times and their ratio.
Timings are synchronised on CUDA and follow a warm-up of the same path.
``--quick`` (for CPU) uses 4 samples and times only the first row (28
pixels) of both paths: naive costs the same for every pixel, the cached
path is cheapest on the first rows, so the ratio there is an upper estimate
for convolutions and close for attention. ``--checkpoint`` times trained
models (e.g. ``models/pixelcnn++-mnist5k-binary.safetensors``) instead.
"""
from __future__ import annotations

import argparse
import time

import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.models.registry import build_model
from arstudio.spec import DataSpec

# the configurations of the reference figures (64 binary 28×28 samples)
CONFIGS = {
    "gated-pixelcnn": {"channels": 128, "layers": 10, "skip_channels": 128, "head_channels": 128},
    "pixelsnail": {"channels": 64, "blocks": 8},
    "pixelcnn": {},
    "pixelcnn++": {"channels": 48, "resnets": 2, "scales": 3},  # the bundled checkpoint's
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


def models(args, spec):
    """(label, model) pairs: untrained ones of --models, or the --checkpoint files."""
    for path in args.checkpoint:
        yield path.rsplit("/", 1)[-1].removesuffix(".safetensors"), load_checkpoint(path)
    for name in [] if args.checkpoint else args.models.split(","):
        torch.manual_seed(args.seed)
        yield name, build_model(name, spec, **CONFIGS[name])


def main(argv=None):
    p = argparse.ArgumentParser(prog="arstudio bench sampling", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n", type=int, default=None, help="samples (default 64, 4 with --quick)")
    p.add_argument("--quick", action="store_true", help="CPU: 4 samples, first row only")
    p.add_argument("--pixels", type=int, default=None, help="time only the first P pixels")
    p.add_argument("--models", default=",".join(CONFIGS), help="comma-separated subset")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: 1 with --quick, where the cached path's "
                        "small operations only lose from threading)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", action="append", default=[],
                   help="time this trained model (repeatable) instead of --models")
    args = p.parse_args(argv)
    threads = args.threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
    n = args.n or (4 if args.quick else 64)
    pixels = args.pixels or (28 if args.quick else None)
    spec = DataSpec((1, 28, 28), 2)
    what = f"{pixels} of 784 pixels" if pixels else "784 pixels"
    print(f"sampling {n} binary 28×28 images ({what}) on {args.device}, torch {torch.__version__}")
    header = f"{'model':26s} {'params':>9s} {'naive s':>9s} {'cached s':>9s} {'speed-up':>9s}  same"
    print(header)
    print("-" * len(header))
    for name, model in models(args, spec):
        model = model.to(args.device).eval()
        if model.spec != spec:  # a checkpoint brings its own data spec
            print(f"({name}: data {tuple(model.spec.shape)}, {model.spec.levels} levels)")
        # warm-up: kernels, allocator, cuDNN choices (a few pixels are enough on a CPU)
        warm = min(pixels or 784, 30 if torch.device(args.device).type != "cpu" else 2)
        generate(model, n, warm, True, args.seed)
        generate(model, n, warm, False, args.seed)
        t_naive, a = timed(model, n, pixels, True, args.seed, args.device)
        t_cached, b = timed(model, n, pixels, False, args.seed, args.device)
        same = bool(torch.equal(a, b))
        print(f"{name:26s} {model.num_parameters():9,d} {t_naive:9.2f} {t_cached:9.2f} "
              f"{t_naive / t_cached:8.1f}×  {'yes' if same else 'NO'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
