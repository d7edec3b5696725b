"""CPU speed and memory of five models beside straightforward reference implementations.

``arstudio bench cpu [--quick] [--threads 1] [--models nade,made,...] [--repeats 3]``

Binary 28×28 images, fp32, untrained weights (the cost does not depend on them),
measured side by side in one process, best of ``--repeats`` interleaved
measurements (ours, reference, ours, reference, ...):

- training: images/s of full Adam steps (forward, backward, update), batch 64,
  ours with the trainer's optimizer (fused Adam), the reference with
  ``torch.optim.Adam``'s defaults (``--plain-adam``: both with the defaults);
- sampling: seconds for 4 whole images, ours with the model's cached sampler,
  the reference with its own straightforward sampler;
- memory: peak resident memory above the start of sampling 4 images (the
  process's high-water mark, reset before each measurement), for our cached
  sampler and for our naive one (a full network pass per pixel; every pixel does
  the same work, so its first row shows its peak), for every cached image model
  and for NADE and MADE.

The references are written here, plainly, in the style of widely used PyTorch
implementations of the same sizes: NADE as a Python loop over the 784 dimensions
with a (batch, hidden) running sum (sampling in the same loop); MADE as a masked
MLP applying its masks in the forward pass; PixelCNN, Gated PixelCNN and PixelSNAIL
with masked or padded ``nn.Conv2d`` s and plain masked attention, each sampling
with a full forward pass per pixel. A full forward per pixel costs the same at
every pixel, so for the two big ones (Gated PixelCNN, PixelSNAIL) the reference
sampler is timed over the first ``--ref-pixels`` pixels (default 56, two rows) and
scaled to 784 (``--whole`` times every pixel; minutes on a CPU).
``--quick`` runs tiny sizes on 8×8 images, once: a smoke test, not a measurement.
"""
from __future__ import annotations

import ctypes
import gc
import math
import re
import time
from dataclasses import dataclass, field
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.cli import OneLineParser

# --- peak memory ----------------------------------------------------------------------


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.MULTILINE)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def _trim() -> None:
    gc.collect()
    try:  # give freed heap back to the system so the next peak starts from live memory
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_mb(fn) -> tuple[object, float | None]:
    """Run fn(); return its result and the peak resident memory above the start, in MB.

    Linux: the high-water mark is reset through /proc/self/clear_refs; elsewhere None."""
    _trim()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return fn(), None
    start = _status_kb("VmRSS")
    out = fn()
    peak = _status_kb("VmHWM")
    if start is None or peak is None:
        return out, None
    return out, max(peak - start, 0) / 1024


# --- references -------------------------------------------------------------------------


def _bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood in nats per example of binary x under sigmoid logits."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()


class RefNADE(nn.Module):
    """NADE as a Python loop over the dimensions with a (batch, hidden) running sum."""

    def __init__(self, D: int, H: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(H, D) / math.sqrt(D))
        self.c = nn.Parameter(torch.zeros(H))
        self.V = nn.Parameter(torch.randn(D, H) / math.sqrt(H))
        self.b = nn.Parameter(torch.zeros(D))

    def _loop(self, x, generator=None):
        """x (B, D) with -1 where a value is to be sampled: logits (B, D), filled x."""
        a = self.c.expand(x.shape[0], -1)
        logits, xs = [], []
        for i in range(x.shape[1]):
            h = torch.sigmoid(a)  # (B, H)
            logit = h @ self.V[i:i + 1].t() + self.b[i:i + 1]  # (B, 1)
            x_i = x[:, i:i + 1]
            if generator is not None:
                x_i = torch.bernoulli(torch.sigmoid(logit), generator=generator)
            logits.append(logit)
            xs.append(x_i)
            a = a + x_i @ self.W[:, i:i + 1].t()  # (B, H)
        return torch.cat(logits, 1), torch.cat(xs, 1)

    def loss(self, x):
        x = x.flatten(1).float()
        return _bce(self._loop(x)[0], x)

    @torch.no_grad()
    def sample(self, n, shape, generator, pixels=None):
        D = math.prod(shape)
        return self._loop(torch.zeros(n, D), generator)[1].view(n, *shape)


class RefMaskedLinear(nn.Linear):
    """``nn.Linear`` times a 0/1 mask, applied in the forward pass."""

    def __init__(self, cin, cout, mask):
        super().__init__(cin, cout)
        self.register_buffer("mask", mask.float())

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class NaiveSampler:
    """Sampling with a full forward pass per dimension, raster order."""

    @torch.no_grad()
    def sample(self, n, shape, generator, pixels=None):
        x = torch.zeros(n, *shape)
        flat = x.view(n, -1)
        for i in range(pixels or flat.shape[1]):
            logit = self.logits(x).reshape(n, -1)[:, i]
            flat[:, i] = torch.bernoulli(torch.sigmoid(logit), generator=generator)
        return x

    def loss(self, x):
        x = x.float()
        return _bce(self.logits(x), x)


class RefMADE(NaiveSampler, nn.Module):
    """MADE: a masked MLP, D -> hidden (ReLU) -> D, masks from random hidden degrees."""

    def __init__(self, D: int, hidden: tuple[int, ...]):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        degrees = [torch.arange(1, D + 1)]
        for h in hidden:
            degrees.append(torch.randint(int(degrees[-1].min()), max(D - 1, 1) + 1, (h,), generator=g))
        layers = []
        for prev, cur in pairwise(degrees):
            layers += [RefMaskedLinear(len(prev), len(cur), cur[:, None] >= prev[None]), nn.ReLU()]
        layers.append(RefMaskedLinear(len(degrees[-1]), D, degrees[0][:, None] > degrees[-1][None]))
        self.net = nn.Sequential(*layers)

    def logits(self, x):
        return self.net(x.flatten(1)).view(x.shape)

    def num_parameters(self) -> int:  # masked-out weights are constants, as ours counts them
        return sum(int(m.mask.sum()) + m.bias.numel() for m in self.net if isinstance(m, RefMaskedLinear))


class RefMaskedConv2d(nn.Conv2d):
    """A k×k convolution whose weight is multiplied by a PixelCNN mask A or B in forward."""

    def __init__(self, cin, cout, k, mask_type):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.ones_like(self.weight)
        mask[:, :, k // 2, k // 2 + (mask_type == "B"):] = 0
        mask[:, :, k // 2 + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class RefPixelCNN(NaiveSampler, nn.Module):
    """PixelCNN: 7×7 mask A, residual blocks (1×1, 3×3 mask B, 1×1), a 1×1 head."""

    def __init__(self, channels: int, blocks: int, head: int):
        super().__init__()
        h = channels // 2
        self.input = RefMaskedConv2d(1, channels, 7, "A")
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, h, 1), nn.ReLU(), RefMaskedConv2d(h, h, 3, "B"),
            nn.ReLU(), nn.Conv2d(h, channels, 1)) for _ in range(blocks))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, head, 1), nn.ReLU(), nn.Conv2d(head, 1, 1))

    def logits(self, x):
        h = self.input(x * 2 - 1)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def _gate(t):
    a, b = t.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


class RefGatedLayer(nn.Module):
    """A vertical stack (k//2+1)×k over rows <= r, shifted down one row into the
    horizontal stack through a 1×1 link; a horizontal 1×(k//2+1) over columns <= c
    (< c in the first layer); gates, a residual and a skip 1×1."""

    def __init__(self, cin, ch, k, skip, first):
        super().__init__()
        self.k, self.first = k, first
        self.v = nn.Conv2d(cin, 2 * ch, (k // 2 + 1, k))
        self.h = nn.Conv2d(cin, 2 * ch, (1, k // 2 + 1))
        self.link = nn.Conv2d(2 * ch, 2 * ch, 1)
        self.h_out = nn.Conv2d(ch, ch, 1)
        self.skip = nn.Conv2d(ch, skip, 1)

    def forward(self, v, h):
        k = self.k
        v_pre = self.v(F.pad(v, (k // 2, k // 2, k // 2, 0)))  # rows r-k//2 .. r
        down = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1]  # rows < r only, for the horizontal stack
        h_in = F.pad(h, (k // 2 + 1, 0))[..., :-1] if self.first else F.pad(h, (k // 2, 0))
        hg = _gate(self.h(h_in) + self.link(down))
        h_new = self.h_out(hg) + (0 if self.first else h)
        return _gate(v_pre), h_new, self.skip(hg)


class RefGatedPixelCNN(NaiveSampler, nn.Module):
    def __init__(self, channels: int, layers: int, kernel: int, skip: int, head: int):
        super().__init__()
        self.layers = nn.ModuleList(RefGatedLayer(1 if i == 0 else channels, channels, kernel, skip, i == 0)
                                    for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(skip, head, 1), nn.ReLU(), nn.Conv2d(head, 1, 1))

    def logits(self, x):
        v = h = x * 2 - 1
        skip = 0
        for layer in self.layers:
            v, h, s = layer(v, h)
            skip = skip + s
        return self.head(skip)


class RefCausalConv2d(nn.Conv2d):
    """(k//2+1)×k convolution over rows <= r, the last row masked after (B) or at (A) c."""

    def __init__(self, cin, cout, k, mask_type):
        super().__init__(cin, cout, (k // 2 + 1, k))
        mask = torch.ones_like(self.weight)
        mask[:, :, -1, k // 2 + (mask_type == "B"):] = 0
        self.register_buffer("mask", mask)
        self.pad = (k // 2, k // 2, k // 2, 0)

    def forward(self, x):
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)


class RefAttention(nn.Module):
    """Causal multi-head attention of pixel p over pixels < p and a learned null entry."""

    def __init__(self, ch, key, value, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(ch + 2, key)
        self.k = nn.Linear(ch + 1 + 2, key)
        self.v = nn.Linear(ch + 1 + 2, value)
        self.null_k, self.null_v = nn.Parameter(torch.zeros(key)), nn.Parameter(torch.zeros(value))
        self.out = nn.Linear(value, ch)

    def forward(self, h, data, coords):
        B, ch, H, W = h.shape
        L = H * W
        feats = h.flatten(2).transpose(1, 2)  # (B, L, ch)
        pos = coords.expand(B, -1, -1)
        kv_in = torch.cat([feats, data.flatten(2).transpose(1, 2), pos], -1)

        def split(t):
            return t.view(B, t.shape[1], self.heads, -1).transpose(1, 2)  # (B, heads, L, d)

        q = split(self.q(torch.cat([feats, pos], -1)))
        k = split(torch.cat([self.null_k.expand(B, 1, -1), self.k(kv_in)], 1))
        v = split(torch.cat([self.null_v.expand(B, 1, -1), self.v(kv_in)], 1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, heads, L, L+1)
        allowed = torch.ones(L, L + 1, dtype=torch.bool).tril(0)
        att = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
        out = self.out((att @ v).transpose(1, 2).reshape(B, L, -1))
        return h + out.transpose(1, 2).reshape(B, ch, H, W)


class RefPixelSNAIL(NaiveSampler, nn.Module):
    def __init__(self, channels, blocks, residuals, kernel, key, value, heads, head, H, W):
        super().__init__()
        k = kernel
        self.input = RefCausalConv2d(1, channels, k, "A")
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            res = nn.ModuleList(nn.ModuleList([RefCausalConv2d(channels, channels, k, "B"),
                                               RefCausalConv2d(channels, 2 * channels, k, "B")])
                                for _ in range(residuals))
            self.blocks.append(nn.ModuleList([res, RefAttention(channels, key, value, heads)]))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, head, 1), nn.ReLU(), nn.Conv2d(head, 1, 1))
        rows, cols = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
        self.register_buffer("coords", torch.stack([rows, cols], -1).view(H * W, 2))

    def logits(self, x):
        data = x * 2 - 1
        h = self.input(data)
        for res, attn in self.blocks:
            for c1, c2 in res:
                h = h + _gate(c2(F.elu(c1(F.elu(h)))))
            h = attn(h, data, self.coords)
        return self.head(h)


# --- the table ------------------------------------------------------------------------------


@dataclass
class Case:
    name: str  # our registry name
    config: dict  # our model's settings
    reference: object  # () -> the reference module
    train_steps: int = 2  # timed steps per measurement
    ref_pixels: int | None = None  # None: the reference samples whole images
    memory_only: bool = False  # a cached image model without a reference here
    extra: dict = field(default_factory=dict)


def cases(quick: bool, H: int, W: int) -> list[Case]:
    D = H * W
    if quick:
        return [
            Case("pixelcnn", {"channels": 8, "layers": 2, "head_channels": 8}, lambda: RefPixelCNN(8, 2, 8), 1),
            Case("gated-pixelcnn", {"channels": 8, "layers": 2, "skip_channels": 8, "head_channels": 8},
                 lambda: RefGatedPixelCNN(8, 2, 5, 8, 8), 1, ref_pixels=8),
            Case("pixelsnail", {"channels": 8, "layers": 1, "head_channels": 8},
                 lambda: RefPixelSNAIL(8, 1, 2, 3, 16, 32, 2, 8, H, W), 1, ref_pixels=8),
            Case("made", {"hidden": (64,)}, lambda: RefMADE(D, (64,)), 1),
            Case("nade", {"hidden": 16}, lambda: RefNADE(D, 16), 1),
            Case("pixelcnn++", {"channels": 8, "resnets": 1, "scales": 2}, None, memory_only=True),
            Case("pixelrnn-row", {"hidden": 8, "layers": 1}, None, memory_only=True),
            Case("pixelrnn-diag", {"hidden": 8, "layers": 1}, None, memory_only=True),
            Case("image-transformer", {"d_model": 16, "layers": 1, "heads": 2}, None, memory_only=True),
        ]
    return [
        # 15 residual blocks, 2h = 32: 53k parameters
        Case("pixelcnn", {"channels": 32, "layers": 15, "head_channels": 32},
             lambda: RefPixelCNN(32, 15, 32), 2),
        Case("gated-pixelcnn", {"channels": 128, "layers": 10, "skip_channels": 128, "head_channels": 128},
             lambda: RefGatedPixelCNN(128, 10, 5, 128, 128), 1, ref_pixels=56),
        Case("pixelsnail", {"channels": 64, "layers": 8},
             lambda: RefPixelSNAIL(64, 8, 2, 3, 16, 32, 2, 64, H, W), 1, ref_pixels=56),
        Case("made", {"hidden": (8000,)}, lambda: RefMADE(D, (8000,)), 2),
        Case("nade", {"hidden": 500}, lambda: RefNADE(D, 500), 2),
        # the other cached image models, at the bundled checkpoints' sizes: memory only
        Case("pixelcnn++", {"channels": 48, "resnets": 2, "scales": 3}, None, memory_only=True),
        Case("pixelrnn-row", {"hidden": 32, "layers": 3}, None, memory_only=True),
        Case("pixelrnn-diag", {"hidden": 32, "layers": 3}, None, memory_only=True),
        Case("image-transformer", {}, None, memory_only=True),
    ]


def params(module) -> int:
    if hasattr(module, "num_parameters"):
        return module.num_parameters()
    return sum(p.numel() for p in module.parameters())


def train_rate(loss_fn, module, x, steps: int, ours: bool = False) -> float:
    """Images/s of ``steps`` full Adam steps: ours with the trainer's optimizer (Adam,
    fused), the reference with ``torch.optim.Adam``'s defaults."""
    if ours:
        from arstudio.training.trainer import TrainConfig, _optimizer

        opt = _optimizer(module, TrainConfig(lr=1e-4))
    else:
        opt = torch.optim.Adam(module.parameters(), lr=1e-4)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = loss_fn(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if not torch.isfinite(loss):
        raise RuntimeError(f"non-finite loss {loss.item()}")
    return steps * x.shape[0] / (time.perf_counter() - t0)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def first_pixels(model, n, pixels, naive, seed):
    """Our sampler for the first ``pixels`` dimensions (all when None)."""
    gen = torch.Generator().manual_seed(seed)
    for step in model.sample_steps(n, generator=gen, naive=naive):
        if pixels is not None and step.step + 1 >= pixels:
            break


def build_parser():
    p = OneLineParser(prog="arstudio bench cpu", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny models on 8×8 images, once (a smoke test)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--models", default=None, help="comma-separated subset (default: all)")
    p.add_argument("--repeats", type=int, default=None, help="interleaved measurements (default 3, 1 quick)")
    p.add_argument("--batch", type=int, default=64, help="training batch")
    p.add_argument("--n", type=int, default=4, help="images to sample")
    p.add_argument("--ref-pixels", type=int, default=None,
                   help="time the big references' per-pixel sampler over this many pixels (default 56)")
    p.add_argument("--whole", action="store_true", help="time every reference sampler on whole images")
    p.add_argument("--no-memory", action="store_true", help="skip the memory table")
    p.add_argument("--plain-adam", action="store_true",
                   help="train ours with torch.optim.Adam's defaults too (the models alone)")
    p.add_argument("--seed", type=int, default=0)
    return p


def measure(case: Case, spec, args, repeats: int, batch: int) -> dict:
    """One model's row: training and sampling beside its reference, then peak memory."""
    from arstudio.models.registry import build_model

    shape, n, seed = spec.shape, args.n, args.seed
    D = spec.num_dims
    torch.manual_seed(seed)
    ours = build_model(case.name, spec, **case.config)
    x = torch.randint(0, 2, (batch, *shape), generator=torch.Generator().manual_seed(seed))
    r = {"name": case.name, "ours_params": params(ours)}
    if not case.memory_only:
        ref = case.reference()
        r["ref_params"] = params(ref)
        ref_pixels = None if args.whole else (args.ref_pixels or case.ref_pixels)
        r["ref_pixels"] = min(ref_pixels, D) if ref_pixels else None
        ours.train(), ref.train()
        mine = not args.plain_adam  # ours with the trainer's optimizer
        train_rate(ours.loss, ours, x, 1, mine), train_rate(ref.loss, ref, x, 1)  # warm-up
        ours.eval(), ref.eval()
        first_pixels(ours, n, 2, False, seed), ref.sample(n, shape, torch.Generator(), 2)
        best = {"ours_train": 0.0, "ref_train": 0.0, "ours_sample": math.inf, "ref_sample": math.inf}
        for _ in range(repeats):  # interleaved: ours, reference, ours, reference, ...
            ours.train(), ref.train()
            best["ours_train"] = max(best["ours_train"], train_rate(ours.loss, ours, x, case.train_steps, mine))
            best["ref_train"] = max(best["ref_train"], train_rate(ref.loss, ref, x, case.train_steps))
            ours.eval(), ref.eval()
            t = timed(lambda: ours.sample(n, generator=torch.Generator().manual_seed(seed)))
            best["ours_sample"] = min(best["ours_sample"], t)
            t = timed(lambda: ref.sample(n, shape, torch.Generator().manual_seed(seed), r["ref_pixels"]))
            best["ref_sample"] = min(best["ref_sample"], t * D / (r["ref_pixels"] or D))
        r.update(best)
        print(f"  {case.name}: trained and sampled", flush=True)
    if not args.no_memory:
        ours.eval()
        first_pixels(ours, n, 2, True, seed)
        _, r["naive_mb"] = peak_mb(lambda: first_pixels(ours, n, shape[0] * shape[2], True, seed))
        _, r["cached_mb"] = peak_mb(lambda: first_pixels(ours, n, None, False, seed))
    return r


def main(argv=None) -> int:
    from arstudio.spec import DataSpec

    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    H = W = 8 if args.quick else 28
    spec = DataSpec((1, H, W), 2)
    batch = 8 if args.quick else args.batch
    chosen = args.models.split(",") if args.models else None
    rows = [c for c in cases(args.quick, H, W) if chosen is None or c.name in chosen]
    if chosen and len(rows) < len(chosen):
        known = ", ".join(c.name for c in cases(args.quick, H, W))
        raise SystemExit(f"arstudio bench cpu: unknown model in {args.models!r}; known: {known}")
    adam = "both torch.optim.Adam defaults" if args.plain_adam else "ours the trainer's (fused Adam)"
    print(f"CPU speed, binary {H}×{W}, fp32, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"training batch {batch}, sampling {args.n} images; best of {repeats} interleaved; optimiser: {adam}")

    results = [measure(case, spec, args, repeats, batch) for case in rows]
    print_tables(results, args.n, batch, spec.num_dims)
    return 0


def _ratio(a, b) -> str:
    return f"{a / b:6.2f}×" if a and b else "     -"


def print_tables(results, n, batch, D) -> None:
    timed_rows = [r for r in results if "ours_train" in r]
    if timed_rows:
        print(f"\ntraining (images/s, batch {batch}) and sampling ({n} whole images, s)")
        head = (f"{'model':16s} {'params ours':>12s} {'params ref':>11s} {'train ours':>11s} {'train ref':>10s} "
                f"{'ours/ref':>8s} {'sample ours':>12s} {'sample ref':>11s} {'ref/ours':>8s}")
        print(head)
        print("-" * len(head))
        for r in timed_rows:
            note = f"  (ref: {r['ref_pixels']} px scaled to {D})" if r["ref_pixels"] else ""
            print(f"{r['name']:16s} {r['ours_params']:12,d} {r['ref_params']:11,d} {r['ours_train']:11.1f} "
                  f"{r['ref_train']:10.1f} {_ratio(r['ours_train'], r['ref_train']):>8s} "
                  f"{r['ours_sample']:12.3f} {r['ref_sample']:11.3f} "
                  f"{_ratio(r['ref_sample'], r['ours_sample']):>8s}{note}")
    mem_rows = [r for r in results if "cached_mb" in r]
    if mem_rows:
        print(f"\npeak memory sampling {n} images (MB above the start; naive: first row, a full pass "
              f"per pixel; cached: whole images)")
        head = f"{'model':18s} {'naive MB':>9s} {'cached MB':>10s} {'cached/naive':>13s}"
        print(head)
        print("-" * len(head))
        for r in mem_rows:
            a, b = r["naive_mb"], r["cached_mb"]
            fmt = (lambda v: f"{v:9.1f}" if v is not None else "      n/a")
            ratio = f"{b / a:12.2f}×" if a and b is not None and a >= 1 else "            -"
            print(f"{r['name']:18s} {fmt(a)} {fmt(b):>10s} {ratio}")


if __name__ == "__main__":
    raise SystemExit(main())
