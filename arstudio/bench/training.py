"""Training throughput (images/s) of Gated PixelCNN, 10 layers × 128 channels.

``arstudio bench training [--device cuda] [--batch 256] [--compile]``

Times full Adam steps (forward, backward, update) on binary 28×28 batches,
in fp32 and with bf16 autocast + channels_last (+ torch.compile with
``--compile``), after warm-up steps, with CUDA synchronised around the
timed region. The data are random binary images: throughput does not
depend on their content. ``--quick`` (for CPU) uses a batch of 16 and a few
steps.
"""
from __future__ import annotations

import time

import torch

from arstudio.bench.sampling_images import CONFIGS, sync
from arstudio.cli import OneLineParser
from arstudio.models.registry import build_model
from arstudio.spec import DataSpec


def throughput(device, batch, steps, warmup, amp, channels_last, compile_, config, seed=0):
    torch.manual_seed(seed)
    spec = DataSpec((1, 28, 28), 2)
    model = build_model("gated-pixelcnn", spec, **config).to(device).train()
    x = torch.randint(0, 2, (batch, *spec.shape), device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.compile(model.loss) if compile_ else model.loss
    dev_type = torch.device(device).type

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(x)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync(device)
    elapsed = time.perf_counter() - t0
    if not torch.isfinite(loss):
        raise RuntimeError(f"non-finite loss {loss.item()}")
    return batch * steps / elapsed


def main(argv=None):
    p = OneLineParser(prog="arstudio bench training", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=None, help="default 256 (16 with --quick)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20, 3 quick)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps (default 5, 1 quick)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--channels", type=int, default=128, help="model width (128 in the reference)")
    p.add_argument("--layers", type=int, default=10, help="gated layers (10 in the reference)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or (16 if args.quick else 256)
    steps = args.steps or (3 if args.quick else 20)
    warmup = args.warmup or (1 if args.quick else 5)
    config = {**CONFIGS["gated-pixelcnn"], "channels": args.channels, "layers": args.layers}
    rows = [("fp32", False, False, False), ("bf16 + channels_last", True, True, False)]
    if args.compile:
        rows.append(("bf16 + channels_last + compile", True, True, True))
    print(f"training Gated PixelCNN ({args.layers} layers, {args.channels} ch) on binary 28×28, batch {batch}, "
          f"{steps} timed steps after {warmup} warm-up, on {args.device}")
    base = None
    for label, amp, cl, comp in rows:
        try:
            ips = throughput(args.device, batch, steps, warmup, amp, cl, comp, config)
        except Exception as e:  # e.g. no compiler toolchain: report, keep the other rows
            print(f"{label:32s} failed: {type(e).__name__}: {str(e).splitlines()[0][:100]}")
            continue
        base = base or ips
        print(f"{label:32s} {ips:10.1f} images/s  ({ips / base:.2f}× fp32)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
