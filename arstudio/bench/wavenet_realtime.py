"""`arstudio bench wavenet_realtime`: is WaveNet generation faster than real time?

For each WaveNet — the bundled ones (their own sample rate) and an untrained
WaveNet sized for 16 kHz (dilations 1..32 in two stacks: a 128-sample receptive
field, 8 ms) — generates ``--seconds`` of audio at batch 1 through the one fast
path (``WaveNetStepper.sample_run``, what the Listen tab and ``arstudio sample
--seconds`` use) and prints samples per second, the real-time factor (generation
time / audio time: below 1 is faster than real time) and the agreement with
the naive path: the largest difference between the fast path's log-conditionals
and the model's teacher-forced ``log_prob`` over every level of ``--check``
positions, the same divided by the largest |logit| there (both paths are float32: a
confident trained model's logits reach hundreds, where float32 itself has steps of
~3e-5, so that ratio, a few times float32's 1.2e-7, is what says they agree), the
largest difference between the two paths' probabilities p(x_i | x_<i) themselves, and
whether the first 64 samples equal the naive sampler's.

Wall time is what a listener gets; CPU time (this process's, one thread) is
what one core needs — on a shared machine they differ, and the CPU figure is
the one that says whether a free core keeps up. CUDA rows when a GPU is there.
"""
from __future__ import annotations

import time

import torch

from arstudio.cli import OneLineParser
from arstudio.models.registry import build_model
from arstudio.paths import BUNDLED_MODELS
from arstudio.spec import DataSpec

SIXTEEN_K = {"residual_channels": 24, "dilation_channels": 24, "skip_channels": 48,
             "layers_per_stack": 6, "stacks": 2}  # the bundled widths, receptive field doubled


def models(device):
    """(title, model, sample rate, conditioning) for every WaveNet to time."""
    from arstudio.checkpoint import load_checkpoint

    out = []
    for path in sorted(BUNDLED_MODELS.glob("wavenet*.safetensors")):
        model = load_checkpoint(path, device).eval()
        meta = model.checkpoint_meta
        cond = {"label": torch.tensor([0], device=device)} if model.config.num_labels else {}
        if model.config.local_channels:  # a melody: one note held per local frame
            frames = 16000 * 60 // model.config.local_hop
            local = torch.zeros(1, model.config.local_channels, frames, device=device)
            local[0, 1] = 1.0
            cond["local"] = local
        title = f"{path.stem} ({model.num_parameters():,} parameters)"
        out.append((title, model, int(meta.get("sample_rate", 8000)), cond))
    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((4096,), 256), **SIXTEEN_K).to(device).eval()
    title = (f"16 kHz-sized, untrained ({model.num_parameters():,} parameters, "
             f"receptive field {model.receptive_field})")
    out.append((title, model, 16000, {}))
    return out


def agreement(model, cond, positions):
    """max |log p_fast - log p_model| over all levels of ``positions`` steps, the largest
    |logit| there, max |p_fast - p_model|, and whether the fast run's first 64 samples
    equal the naive sampler's."""
    from arstudio.sampling.sequence import generate

    x = torch.randint(0, model.spec.levels, (1, positions), generator=torch.Generator().manual_seed(1),
                      device="cpu").to(model.device)
    local = cond.get("local")
    c = dict(cond, local=local[..., :-(-positions // model.config.local_hop)]) if local is not None else cond
    with torch.no_grad():
        logits = model.conditionals(x, **c).logits.double()
        ref = torch.log_softmax(logits, -1)
        stepper = model.make_stepper(x, **c)
        got = torch.stack([torch.log_softmax(stepper.conditional(t, x).logits.double(), -1)
                           for t in range(positions)], 1)
    n = 64
    small = build_model("wavenet", DataSpec((n,), model.spec.levels), **model.config_dict()).to(model.device)
    small.load_state_dict(model.state_dict())
    c = dict(cond, local=local[..., :-(-n // model.config.local_hop)]) if local is not None else cond
    naive = small.sample(1, generator=torch.Generator().manual_seed(2), naive=True, **c)
    fast = generate(small, n, 1, generator=torch.Generator().manual_seed(2), **c)
    return ((got - ref).abs().max().item(), logits.abs().max().item(),
            (got.exp() - ref.exp()).abs().max().item(), bool((naive.cpu().numpy() == fast).all()))


def timed_run(model, rate, seconds, cond):
    from arstudio.sampling.sequence import generate

    generate(model, 256, 1, generator=torch.Generator().manual_seed(0), **cond)  # load the kernel
    length = int(seconds * rate)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    generate(model, length, 1, generator=torch.Generator().manual_seed(0), chunk=4096, **cond)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return length, time.perf_counter() - wall, time.process_time() - cpu


def build_parser():
    p = OneLineParser(prog="arstudio bench wavenet_realtime", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="audio to generate per model (CPU)")
    p.add_argument("--cuda-seconds", type=float, default=1.0, help="audio per model on CUDA")
    p.add_argument("--check", type=int, default=512, help="positions compared with log_prob")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the kernel uses one)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    from arstudio.models._wavenet_fast import backend_name

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("WaveNet generation, batch 1, through the one fast path (WaveNetStepper.sample_run)")
    print(f"  {'model':<72} {'device':<14} {'samples/s (wall)':>17} {'RTF wall':>9} "
          f"{'samples/s (CPU)':>16} {'RTF CPU':>8} {'max |Δ log p|':>14} {'/ max |logit|':>14} {'max |Δ p|':>10} {'= naive':>8}")
    worst = 0.0
    for device in devices:
        for title, model, rate, cond in models(device):
            seconds = args.seconds if device == "cpu" else args.cuda_seconds
            length, wall, cpu = timed_run(model, rate, seconds, cond)
            diff, scale, dp, same = agreement(model, cond, args.check)
            worst = max(worst, diff)
            where = f"{device} ({backend_name(device)})"
            cpu_col = f"{length / cpu:>16,.0f} {cpu / (length / rate):>8.3f}" if device == "cpu" else f"{'':>16} {'':>8}"
            print(f"  {title + f', {rate} Hz':<72} {where:<14} {length / wall:>17,.0f} "
                  f"{wall / (length / rate):>9.3f} {cpu_col} {diff:>14.2e} {diff / max(scale, 1.0):>14.1e} {dp:>10.1e} {'yes' if same else 'NO':>8}",
                  flush=True)
    print(f"  real-time factor = generation time / audio time (< 1: faster than real time); "
          f"{args.seconds:g} s of audio per model on the CPU; largest |Δ log p| {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
