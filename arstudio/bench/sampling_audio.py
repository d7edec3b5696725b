"""`arstudio bench sampling`: WaveNet generation speed, naive vs cached.

Prints, for one model and device: samples/s of the naive sampler (reruns the
network over the whole buffer per sample; measured on the first
``--naive-steps`` steps of a 16,000-sample buffer and extrapolated, since its
cost per step is constant), of the cached Fast-WaveNet stepper driven by the
shared sampler, and of the stepper's whole-chunk run (the one fast path:
a fused numba kernel on a CPU; `arstudio bench wavenet_realtime` has more);
and the real-time factor at 16 kHz, batch 1 (generation time / audio time:
below 1 is faster than real time).
"""
from __future__ import annotations

import statistics
import time

import torch

from arstudio.cli import OneLineParser
from arstudio.models.registry import build_model, get_model_info
from arstudio.paths import BUNDLED_MODELS
from arstudio.spec import DataSpec

BUNDLED = BUNDLED_MODELS / "wavenet-tones.safetensors"
AUDIO_RATE = 16000


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn, device, repeats=1):
    """Median wall time of ``repeats`` runs, with the device drained before and after."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_for_length(checkpoint, length, device):
    """The bundled (or a checkpoint's) WaveNet rebuilt for a ``length``-sample buffer."""
    from arstudio.checkpoint import load_checkpoint

    if checkpoint is not None and checkpoint.exists():
        trained = load_checkpoint(checkpoint)
        model = build_model("wavenet", DataSpec((length,), trained.spec.levels), **trained.config_dict())
        model.load_state_dict(trained.state_dict())
        source = f"{checkpoint.name} ({trained.num_parameters():,} parameters)"
    else:
        torch.manual_seed(0)
        fast = get_model_info("wavenet").presets["fast"]  # the bundled model's size
        model = build_model("wavenet", DataSpec((length,), 256), **fast)
        source = f"untrained WaveNet, bundled size ({model.num_parameters():,} parameters)"
    return model.to(device).eval(), source


def build_parser():
    p = OneLineParser(prog="arstudio bench sampling", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--checkpoint", default=str(BUNDLED), help="WaveNet checkpoint (default: bundled)")
    p.add_argument("--length", type=int, default=16000, help="samples to generate")
    p.add_argument("--naive-steps", type=int, default=30, help="naive steps actually timed")
    p.add_argument("--cached-steps", type=int, default=None,
                   help="stepper steps actually timed (default: all --length)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    from pathlib import Path

    model, source = load_for_length(Path(args.checkpoint), args.length, device)
    T = args.length
    print(f"WaveNet generation speed on {device} ({torch.get_num_threads()} CPU threads), batch 1, "
          f"{T:,} samples; model: {source}, receptive field {model.receptive_field}")

    # naive: each step reruns conditionals() over the whole T-sample buffer
    naive_steps = min(args.naive_steps, T)
    x = torch.zeros(1, T, dtype=torch.long, device=device)
    g = torch.Generator().manual_seed(0)

    def run_naive():
        for i, _ in enumerate(model.sample_steps(1, generator=g, naive=True)):
            if i + 1 >= naive_steps:
                break

    timed(lambda: model.conditionals(x), device)  # warm-up
    naive_s = timed(run_naive, device) / naive_steps * T
    # cached: the Fast-WaveNet stepper driven by the shared step-by-step sampler
    cached_steps = min(args.cached_steps or T, T)

    def run_cached():
        for i, _ in enumerate(model.sample_steps(1, generator=torch.Generator().manual_seed(0))):
            if i + 1 >= cached_steps:
                break

    cached_s = timed(run_cached, device) / cached_steps * T
    # the whole-chunk run of the same stepper (one call per chunk)
    from arstudio.sampling.sequence import generate

    repeats = 3 if device.type != "cpu" else 1  # a CPU run is long and steady enough
    generate(model, 256, 1, generator=torch.Generator().manual_seed(0))  # loads the kernel
    fast_s = timed(lambda: generate(model, T, 1, generator=torch.Generator().manual_seed(0), chunk=4096),
                   device, repeats=repeats)

    def row(name, seconds, note):
        rate = T / seconds
        print(f"  {name:<30} {rate:>12,.1f} samples/s  {seconds:>10.2f} s  "
              f"RTF@16kHz {seconds / (T / AUDIO_RATE):>8.3f}   {note}")

    print(f"  {'path':<30} {'speed':>22}  {'time':>10}    {'real-time factor':>16}")
    row("naive (full recompute)", naive_s, f"extrapolated from {naive_steps} timed steps")
    row("cached stepper (sampler loop)", cached_s,
        "measured" if cached_steps == T else f"extrapolated from {cached_steps} timed steps")
    row("cached, whole-chunk run", fast_s, "one call per 4,096 samples" +
        (f", median of {repeats}" if repeats > 1 else ", one run"))
    print(f"  speed-up cached/naive: {naive_s / cached_s:,.0f}× (sampler loop), "
          f"{naive_s / fast_s:,.0f}× (whole-chunk run)")
    rtf = fast_s / (T / AUDIO_RATE)
    verdict = "faster than real time" if rtf < 1 else "slower than real time"
    print(f"  real-time factor at 16 kHz, batch 1: {rtf:.3f} ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
