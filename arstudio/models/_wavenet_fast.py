"""The one WaveNet fast path: Fast WaveNet queues in a fused per-sample step.

Paine et al., "Fast Wavenet Generation Algorithm", arXiv 2016: every layer
keeps a ring buffer of its last inputs, so a sample costs O(layers), not
O(receptive field). The bundled WaveNet has ~75k weights, ~150 kFLOP per
sample; run as ~100 small PyTorch calls a sample, per-call overhead (not
arithmetic) made it 40× slower than real time. Here one sample is one pass of
plain loops over preallocated arrays (weights laid out so that every inner
loop reads contiguous memory), compiled by numba when it is installed:

    backend   where            what
    numba     CPU              the step and the inverse-CDF draw fused, a whole
                               chunk of samples per call (no Python per sample)
    numpy     CPU, no numba    the same step, hand-vectorised over the batch
    torch     CUDA / MPS       the same ring buffers as device tensors (the
                               chunk replayed as a CUDA graph)

:class:`WaveNetStepper` is what ``WaveNet.make_stepper`` returns: the shared
sampler calls :meth:`WaveNetStepper.conditional` one position at a time (exact
logits: they agree with ``log_prob`` to 1e-5, tested), and the studio, the
CLI and the benches call :meth:`WaveNetStepper.sample_run`, which produces a
whole chunk in one call and draws the same uniforms in the same order as the
shared loop, so both give the same samples for the same seed. Both paths
sample with the one inverse-CDF routine of the backend (:meth:`draw`).

State for batch n, L layers, kernel k (time-major slots ``t % length``):
``codes`` (n, k) the last inputs of the type-A input layer, ``rings`` (n,
sum of layer lengths, R) every layer's past inputs, conditioning biases
(n, T or 1, L, 2D).
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from arstudio.distributions import Categorical, cpu_rand
from arstudio.models.steppers import SequenceStepper

try:  # the fast dependency is optional: without it the NumPy backend runs
    if os.environ.get("ARSTUDIO_NO_NUMBA"):
        raise ImportError("disabled by ARSTUDIO_NO_NUMBA")
    import numba
except ImportError:  # pragma: no cover - exercised with ARSTUDIO_NO_NUMBA=1
    numba = None


def _jit(fn):
    return numba.njit(cache=True, fastmath=False, nogil=True)(fn) if numba is not None else fn


# --- the per-sample kernel (numba; plain Python would run it, slowly) -------------------
@_jit
def _inverse_cdf(logits, inv_temperature, u):
    """Categorical.sample's rule in float64: the first level whose CDF reaches u·total."""
    K = logits.shape[0]
    m = logits[0] * inv_temperature
    for i in range(1, K):
        m = max(m, logits[i] * inv_temperature)
    total = 0.0
    cdf = np.empty(K)
    for i in range(K):
        total += np.exp(logits[i] * inv_temperature - m)
        cdf[i] = total
    target = u * total
    idx = 0
    for i in range(K):
        if cdf[i] < target:
            idx += 1
    return min(idx, K - 1)


@_jit
def _relu_linear(x, w, bias, out):
    """out = relu(x) @ w + bias, x (n,), w (n, m), out (m,)."""
    for q in range(out.shape[0]):
        out[q] = bias[q]
    for i in range(x.shape[0]):
        v = x[i]
        if v > 0.0:
            for q in range(out.shape[0]):
                out[q] += v * w[i, q]


@_jit
def _step(t, b, prev, codes, rings, in_w, in_b, conv_w, conv_b, out_w, out_b, ring_start,
          ring_len, dilation, cond, h1_w, h1_b, h2_w, h2_b, logits, scratch):
    """Logits (K,) of position t for sequence b, fed x_{t-1} = prev (ignored at t = 0).

    Everything is float64 (weights, rings, accumulators), which keeps the step within
    ~2e-6 of an exact float64 evaluation; ``scratch`` is preallocated working memory."""
    k = codes.shape[1]
    L, _, R, G = conv_w.shape  # G = 2D gate channels
    D = G // 2
    S = out_w.shape[2] - R
    H = h1_w.shape[1]
    h, pre, z = scratch[0:R], scratch[R:R + G], scratch[R + G:R + G + D]
    o = R + G + D
    acc, skips, a1 = scratch[o:o + R + S], scratch[o + R + S:o + R + 2 * S], scratch[o + R + 2 * S:o + R + 2 * S + H]
    if t > 0:
        codes[b, (t - 1) % k] = prev
    for r in range(R):  # type-A input layer: tap j sees x_{t-1-(k-1-j)}; a one-hot picks a row
        h[r] = in_b[r]
    for j in range(k):
        s = t - 1 - (k - 1 - j)
        if s >= 0:
            row = in_w[j, codes[b, s % k]]
            for r in range(R):
                h[r] += row[r]
    for i in range(S):
        skips[i] = 0.0
    for l in range(L):
        n_slots, base, d = ring_len[l], ring_start[l], dilation[l]
        slot = rings[b, base + t % n_slots]
        for r in range(R):
            slot[r] = h[r]
        for g in range(G):
            pre[g] = conv_b[l, g] + cond[l, g]
        for j in range(k):  # tap j: the input (k-1-j)·d steps back (zeros before the start)
            past = rings[b, base + (t - (k - 1 - j) * d + n_slots) % n_slots]
            w = conv_w[l, j]
            for r in range(R):
                v = past[r]
                for g in range(G):
                    pre[g] += v * w[r, g]
        for i in range(D):
            z[i] = np.tanh(pre[i]) / (1.0 + np.exp(-pre[D + i]))
        ow = out_w[l]
        for q in range(R + S):
            acc[q] = out_b[l, q]
        for i in range(D):
            v = z[i]
            for q in range(R + S):
                acc[q] += v * ow[i, q]
        for r in range(R):
            h[r] += acc[r]
        for i in range(S):
            skips[i] += acc[R + i]
    _relu_linear(skips, h1_w, h1_b, a1)  # the head: ReLU-1×1-ReLU-1×1
    _relu_linear(a1, h2_w, h2_b, logits)


@_jit
def _step_batch(t, prev, codes, rings, in_w, in_b, conv_w, conv_b, out_w, out_b, ring_start,
                ring_len, dilation, cond, h1_w, h1_b, h2_w, h2_b, logits, scratch):
    """Every sequence's logits at position t; cond (n, L, 2D)."""
    for b in range(logits.shape[0]):
        _step(t, b, prev[b], codes, rings, in_w, in_b, conv_w, conv_b, out_w, out_b, ring_start,
              ring_len, dilation, cond[b], h1_w, h1_b, h2_w, h2_b, logits[b], scratch)


@_jit
def _draw_batch(logits, inv_temperature, u, out):
    for b in range(logits.shape[0]):
        out[b] = _inverse_cdf(logits[b], inv_temperature, u[b])


@_jit
def _run(t0, prev, seq, draw, cond, cond_t0, uniforms, codes, rings, in_w, in_b, conv_w, conv_b,
         out_w, out_b, ring_start, ring_len, dilation, h1_w, h1_b, h2_w, h2_b, inv_temperature,
         logits, scratch):
    """Positions t0 .. t0+m-1 of seq (n, m) through the queues, each step fed x_{t-1}.

    draw: each position is drawn into seq with uniforms (m, n) (generation); otherwise seq
    holds known codes that are only pushed through (a prime) and uniforms is not read.
    ``prev`` (n,) is x_{t0-1}; cond (n, T|1, L, 2D) has row 0 at position cond_t0."""
    n, m = seq.shape
    for c in range(m):
        t = t0 + c
        ci = t - cond_t0 if cond.shape[1] > 1 else 0
        for b in range(n):
            p = seq[b, c - 1] if c > 0 else prev[b]
            _step(t, b, p, codes, rings, in_w, in_b, conv_w, conv_b, out_w, out_b,
                  ring_start, ring_len, dilation, cond[b, ci], h1_w, h1_b, h2_w, h2_b, logits[b], scratch)
            if draw:
                seq[b, c] = _inverse_cdf(logits[b], inv_temperature, uniforms[c, b])


# --- the backends -------------------------------------------------------------------------
class _Weights:
    """The model's weights as float64 NumPy arrays laid out for the step."""

    def __init__(self, model):
        def np32(t):
            return np.ascontiguousarray(t.detach().double().cpu().numpy())

        c = model.config
        self.k = c.kernel
        self.K = model.spec.levels
        self.R, self.D, self.S = c.residual_channels, c.dilation_channels, c.skip_channels
        # input conv (R, K, k) -> (k, K, R): tap j's row for level v is in_w[j, v]
        self.in_w = np32(model.input.weight.permute(2, 1, 0))
        self.in_b = np32(model.input.bias)
        layers = list(model.layers)
        self.L = len(layers)
        # dilated convs (2D, R, k) -> (L, k, R, 2D)
        self.conv_w = np.stack([np32(l.conv.weight.permute(2, 1, 0)) for l in layers])
        self.conv_b = np.stack([np32(l.conv.bias) for l in layers])
        # residual and skip 1×1 convs side by side: (L, D, R+S)
        self.out_w = np.stack([np32(torch.cat([l.to_residual.weight[..., 0], l.to_skip.weight[..., 0]]).t())
                               for l in layers])
        self.out_b = np.stack([np32(torch.cat([l.to_residual.bias, l.to_skip.bias])) for l in layers])
        self.dilation = np.array([l.conv.dilation[0] for l in layers], np.int64)
        self.ring_len = (self.k - 1) * self.dilation + 1
        self.ring_start = np.concatenate([[0], np.cumsum(self.ring_len)[:-1]]).astype(np.int64)
        convs = [m for m in model.head if isinstance(m, torch.nn.Conv1d)]  # ReLU-1×1-ReLU-1×1
        self.h1_w, self.h1_b = np32(convs[0].weight[..., 0].t()), np32(convs[0].bias)
        self.h2_w, self.h2_b = np32(convs[1].weight[..., 0].t()), np32(convs[1].bias)


class _NumbaBackend:
    """CPU: the fused kernel above, compiled (cached on disk after the first run)."""

    name = "numba"

    def __init__(self, w: _Weights, n: int):
        self.w, self.n = w, n
        self.codes = np.zeros((n, w.k), np.int64)
        self.rings = np.zeros((n, int(w.ring_len.sum()), w.R))
        self.logits = np.zeros((n, w.K), np.float32)
        self.scratch = np.zeros(2 * w.R + 2 * w.S + 3 * w.D + w.h1_w.shape[1])

    def _args(self):
        w = self
        return (w.codes, w.rings, w.w.in_w, w.w.in_b, w.w.conv_w, w.w.conv_b, w.w.out_w, w.w.out_b,
                w.w.ring_start, w.w.ring_len, w.w.dilation)

    def step(self, t, prev, cond):  # prev (n,) int64, cond (n, L, 2D) -> logits (n, K)
        w = self.w
        _step_batch(t, prev, *self._args(), cond, w.h1_w, w.h1_b, w.h2_w, w.h2_b, self.logits,
                    self.scratch)
        return self.logits

    def draw(self, logits, temperature, u):
        out = np.empty(len(logits), np.int64)
        _draw_batch(np.ascontiguousarray(logits, np.float32), 1.0 / max(float(temperature), 1e-6),
                    np.asarray(u, np.float64), out)
        return out

    def run(self, t0, t1, prev, cond, cond_t0, uniforms, temperature):
        """Codes (n, t1-t0) of positions t0..t1-1; prev (n,) = x_{t0-1}."""
        w = self.w
        out = np.zeros((self.n, t1 - t0), np.int64)
        _run(t0, np.asarray(prev, np.int64), out, True, cond, cond_t0,
             np.asarray(uniforms, np.float64), *self._args(), w.h1_w, w.h1_b, w.h2_w, w.h2_b,
             1.0 / max(float(temperature), 1e-6), self.logits, self.scratch)
        return out

    def feed(self, t0, prev, known, cond, cond_t0):
        w = self.w
        known = np.ascontiguousarray(known, np.int64)  # read in place of draws, not written
        _run(t0, np.asarray(prev, np.int64), known, False, cond, cond_t0, np.zeros((0, 0)),
             *self._args(), w.h1_w, w.h1_b, w.h2_w, w.h2_b, 1.0, self.logits, self.scratch)


class _NumpyBackend:
    """CPU without numba: the same step, vectorised over the batch with NumPy."""

    name = "numpy"

    def __init__(self, w: _Weights, n: int):
        self.w, self.n = w, n
        self.codes = np.zeros((n, w.k), np.int64)
        self.rings = [np.zeros((int(m), n, w.R)) for m in w.ring_len]
        self.rows = np.arange(n)

    def step(self, t, prev, cond):
        w, k = self.w, self.w.k
        if t > 0:
            self.codes[:, (t - 1) % k] = prev
        h = np.broadcast_to(w.in_b, (self.n, w.R)).copy()
        for j in range(k):
            s = t - 1 - (k - 1 - j)
            if s >= 0:
                h += w.in_w[j, self.codes[:, s % k]]
        c = cond  # (n, L, 2D)
        skips = np.zeros((self.n, w.S))
        for l, ring in enumerate(self.rings):
            m, d = len(ring), int(w.dilation[l])
            ring[t % m] = h
            pre = w.conv_b[l] + c[:, l]
            for j in range(k):
                pre = pre + ring[(t - (k - 1 - j) * d) % m] @ w.conv_w[l, j]
            z = np.tanh(pre[:, :w.D]) / (1.0 + np.exp(-pre[:, w.D:]))
            acc = z @ w.out_w[l] + w.out_b[l]
            h = h + acc[:, :w.R]
            skips += acc[:, w.R:]
        a1 = np.maximum(np.maximum(skips, 0) @ w.h1_w + w.h1_b, 0)
        return (a1 @ w.h2_w + w.h2_b).astype(np.float32)

    def draw(self, logits, temperature, u):
        z = logits.astype(np.float64) * (1.0 / max(float(temperature), 1e-6))
        cdf = np.cumsum(np.exp(z - z.max(-1, keepdims=True)), -1)
        idx = (cdf < np.asarray(u, np.float64)[:, None] * cdf[:, -1:]).sum(-1)
        return np.minimum(idx, logits.shape[-1] - 1)

    def run(self, t0, t1, prev, cond, cond_t0, uniforms, temperature):
        out = np.zeros((self.n, t1 - t0), np.int64)
        for t in range(t0, t1):
            logits = self.step(t, prev, cond[:, t - cond_t0 if cond.shape[1] > 1 else 0])
            prev = out[:, t - t0] = self.draw(logits, temperature, uniforms[t - t0])
        return out

    def feed(self, t0, prev, known, cond, cond_t0):
        for c in range(known.shape[1]):
            t = t0 + c
            self.step(t, prev, cond[:, t - cond_t0 if cond.shape[1] > 1 else 0])
            prev = known[:, c]


class _TorchBackend:
    """CUDA / MPS: the ring buffers as device tensors, the same arithmetic in PyTorch."""

    name = "torch"

    def __init__(self, model, n: int):
        dev = model.device
        self.model, self.n, self.dev = model, n, dev
        w = {k: torch.as_tensor(v, device=dev) for k, v in vars(_Weights(model)).items()
             if isinstance(v, np.ndarray)}
        w = {k: v.float() if v.is_floating_point() else v for k, v in w.items()}
        self.w, self.k, self.K = w, model.config.kernel, model.spec.levels
        self.R, self.D = model.config.residual_channels, model.config.dilation_channels
        self.lens = [int(m) for m in w["ring_len"].tolist()]
        self.dil = [int(d) for d in w["dilation"].tolist()]
        self.codes = torch.zeros(n, self.k, dtype=torch.long, device=dev)
        self.rings = [torch.zeros(m, n, self.R, device=dev) for m in self.lens]

    def step(self, t, prev, cond):
        w, k = self.w, self.k
        if t > 0:
            self.codes[:, (t - 1) % k] = torch.as_tensor(prev, device=self.dev)
        h = w["in_b"].expand(self.n, -1).clone()
        for j in range(k):
            s = t - 1 - (k - 1 - j)
            if s >= 0:
                h = h + w["in_w"][j][self.codes[:, s % k]]
        c = cond  # (n, L, 2D)
        skips = 0
        for l, ring in enumerate(self.rings):
            m, d = self.lens[l], self.dil[l]
            ring[t % m] = h
            pre = w["conv_b"][l] + c[:, l]
            for j in range(k):
                pre = pre + ring[(t - (k - 1 - j) * d) % m] @ w["conv_w"][l, j]
            z = torch.tanh(pre[:, :self.D]) * torch.sigmoid(pre[:, self.D:])
            acc = torch.addmm(w["out_b"][l], z, w["out_w"][l])
            h = h + acc[:, :self.R]
            skips = skips + acc[:, self.R:]
        a1 = F.relu(torch.addmm(w["h1_b"], F.relu(skips), w["h1_w"]))
        return torch.addmm(w["h2_b"], a1, w["h2_w"])

    def run(self, t0, t1, prev, cond, cond_t0, uniforms, temperature):
        out = torch.zeros(self.n, t1 - t0, dtype=torch.long, device=self.dev)
        u = torch.as_tensor(np.asarray(uniforms, np.float32), device=self.dev)
        prev = torch.as_tensor(prev, device=self.dev)
        for t in range(t0, t1):
            logits = self.step(t, prev, cond[:, t - cond_t0 if cond.shape[1] > 1 else 0])
            probs = F.softmax(logits.float() / max(float(temperature), 1e-6), -1)
            cdf = probs.cumsum(-1)
            prev = out[:, t - t0] = (cdf < u[t - t0, :, None] * cdf[:, -1:]).sum(-1).clamp_(max=self.K - 1)
        return out.cpu().numpy()

    def feed(self, t0, prev, known, cond, cond_t0):
        prev = torch.as_tensor(prev, device=self.dev)
        known = torch.as_tensor(known, device=self.dev)
        for c in range(known.shape[1]):
            t = t0 + c
            self.step(t, prev, cond[:, t - cond_t0 if cond.shape[1] > 1 else 0])
            prev = known[:, c]


def backend_name(device) -> str:
    """Which backend a model on ``device`` generates with."""
    if torch.device(device).type != "cpu":
        return "torch"
    return "numba" if numba is not None else "numpy"


class _Drawn(Categorical):
    """A Categorical whose draw uses the CPU backend's own inverse-CDF routine, so the
    shared sampler and :meth:`WaveNetStepper.sample_run` give identical samples (the
    torch backend draws with Categorical's own arithmetic in both)."""

    def __init__(self, logits, backend):
        super().__init__(logits)
        self._backend = backend

    def sample(self, temperature=1.0, generator=None):
        u = cpu_rand(self.logits.shape[:-1], generator)  # one uniform per entry, as the base
        idx = self._backend.draw(self.logits.detach().cpu().numpy(), temperature, u.numpy())
        return torch.from_numpy(np.asarray(idx, np.int64)).to(self.logits.device)


class WaveNetStepper(SequenceStepper):
    """The WaveNet stepper for sequences of any length (the queues never run out).

    ``conditional(index, x)`` serves the shared sampler; ``sample_run`` generates
    a chunk in one call. Conditioning: ``label`` (global) and ``local`` (the slow
    series, upsampled by the model's transposed convolution, chunk by chunk)."""

    local_span = 4096  # samples of local-conditioning biases computed at a time

    def __init__(self, model, x: torch.Tensor, label=None, local=None, backend: str | None = None):
        super().__init__(model)
        n = x.shape[0]
        self.n = n
        self.label, self.local = label, local
        self.backend_name = backend or backend_name(model.device)
        if self.backend_name == "torch":
            self.backend = _TorchBackend(model, n)
        else:
            w = _Weights(model)
            self.backend = (_NumbaBackend if self.backend_name == "numba" else _NumpyBackend)(w, n)
        self.L, self.G = len(model.layers), 2 * model.config.dilation_channels
        self.hop = model.config.local_hop
        self._cond, self._cond_span = None, (0, 0)
        self.prev = np.zeros(n, np.int64)

    # --- conditioning ------------------------------------------------------------
    def _conditioning(self, t0, t1):
        """(n, 1 or m, L, 2D) gate biases covering t0 (and on, up to t1 - 1 at most) and
        the position c0 of its first row: the global label's bias alone is constant."""
        m = self.model
        if self.local is None:
            if self._cond is None:
                with torch.no_grad():
                    bias = m.conditioning(self.n, 1, self.label, None, m.device)
                self._cond = self._as_backend(bias, 1)
            return self._cond, 0
        c0, c1 = self._cond_span
        if not c0 <= t0 < c1:  # the frames of the local series from t0 on, ~4k samples at a time
            f0 = t0 // self.hop
            local = torch.as_tensor(self.local, device=m.device).float()
            f1 = min(local.shape[-1], max(-(-t1 // self.hop), f0 + 1))
            f1 = min(f1, f0 + max(1, self.local_span // self.hop))
            if f1 <= f0:
                raise ValueError(f"local series covers {local.shape[-1] * self.hop} samples, "
                                 f"need {t1}")
            with torch.no_grad():
                bias = m.conditioning(self.n, (f1 - f0) * self.hop, self.label, local[..., f0:f1], m.device)
            self._cond = self._as_backend(bias, (f1 - f0) * self.hop)
            self._cond_span = (f0 * self.hop, f1 * self.hop)
        return self._cond, self._cond_span[0]

    def _as_backend(self, bias, T):
        """(n, L, 2D, T|1) or None -> (n, T|1, L, 2D) in the backend's array type."""
        if bias is None:
            bias = torch.zeros(self.n, self.L, self.G, 1, device=self.model.device)
        bias = bias.expand(self.n, -1, -1, -1).permute(0, 3, 1, 2).contiguous()
        if self.backend_name == "torch":
            return bias
        return np.ascontiguousarray(bias.detach().cpu().numpy(), np.float64)

    # --- the shared sampler's seam ---------------------------------------------------
    def advance(self, t, flat):
        """Take position t into the queues (fed x_{t-1}); returns its logits."""
        prev = flat[:, t - 1] if t > 0 else torch.zeros(self.n, dtype=torch.long)
        prev = prev.long() if self.backend_name == "torch" else prev.detach().cpu().numpy().astype(np.int64)
        cond, c0 = self._conditioning(t, t + 1)
        cond = cond[:, t - c0 if cond.shape[1] > 1 else 0]  # (n, L, 2D)
        return self.backend.step(t, prev, cond)

    def head(self, logits, index):
        if self.backend_name == "torch":
            return Categorical(logits)
        return _Drawn(torch.from_numpy(logits.copy()), self.backend)

    # --- whole chunks ---------------------------------------------------------------
    def sample_run(self, start: int, stop: int, temperature: float = 1.0, generator=None,
                   prev=None) -> np.ndarray:
        """Codes (n, stop - start) of positions start..stop-1, generated in one call.

        Continues from where the stepper is (``start`` must equal the next position);
        ``prev`` (n,) overrides x_{start-1} (after a known prime was fed with
        :meth:`feed`). Draws one (n,) uniform per position from ``generator``, as
        the shared sampler does, so the samples are the same for the same seed."""
        if start != self.next:
            raise ValueError(f"the stepper is at position {self.next}, asked to start at {start}")
        if prev is not None:
            self.prev = np.asarray(prev, np.int64)
        uniforms = cpu_rand((stop - start, self.n), generator).numpy()
        out = np.zeros((self.n, 0), np.int64)
        parts = []
        t = start
        while t < stop:
            cond, c0 = self._conditioning(t, stop)
            t1 = stop if cond.shape[1] == 1 else min(stop, c0 + cond.shape[1])
            part = self.backend.run(t, t1, self.prev, cond, c0, uniforms[t - start:t1 - start], temperature)
            part = np.asarray(part, np.int64)
            parts.append(part)
            if part.shape[1]:
                self.prev = part[:, -1].copy()
            t = t1
        self.next = stop
        return np.concatenate(parts, 1) if parts else out

    def feed(self, codes) -> None:
        """Push known codes (n, m) (a prime) through the queues without drawing."""
        codes = np.asarray(codes, np.int64).reshape(self.n, -1)
        t, stop = self.next, self.next + codes.shape[1]
        while t < stop:
            cond, c0 = self._conditioning(t, stop)
            t1 = stop if cond.shape[1] == 1 else min(stop, c0 + cond.shape[1])
            self.backend.feed(t, self.prev, codes[:, t - self.next:t1 - self.next], cond, c0)
            self.prev = codes[:, t1 - 1 - self.next].copy()
            t = t1
        self.next = stop
