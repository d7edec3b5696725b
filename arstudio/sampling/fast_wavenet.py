"""Whole-sequence WaveNet generation with no host round trips (for speed).

:class:`~arstudio.models.wavenet.FastWaveNetStepper` is the cached stepper the
shared sampler drives one Python step at a time; that loop syncs with the
device every sample. :class:`WaveNetGenerator` runs the same computation with
every piece of state on the device — per-layer ring buffers (time-major,
(L, n, C)), the position counter, the uniforms pre-drawn from the caller's
CPU generator in the sampler's order — so on CUDA a chunk of steps can be
captured once as a CUDA graph and replayed. The samples equal the shared
sampler's for the same seed (tested on CPU).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from arstudio.distributions import cpu_rand


class _Ring:
    """Time-major ring buffer (length, n, C) of one layer's past inputs."""

    def __init__(self, conv, n, device):
        k, d = conv.kernel_size[0], conv.dilation[0]
        self.length = (k - 1) * d + 1
        self.buf = torch.zeros(self.length, n, conv.in_channels, device=device)
        # offsets of weight taps j = 0..k-1 before the newest input
        self.offsets = torch.tensor([(k - 1 - j) * d for j in range(k)], device=device)
        # (k*C_in, C_out): taps laid out [oldest .. newest] along the rows
        self.weight = conv.weight.detach().permute(2, 1, 0).reshape(-1, conv.out_channels)
        self.bias = conv.bias.detach()

    def step(self, pos, newest):  # pos: 0-dim long tensor; newest (n, C_in) -> (n, C_out)
        self.buf.index_copy_(0, (pos % self.length).view(1), newest.unsqueeze(0))
        taps = self.buf.index_select(0, (pos - self.offsets) % self.length)  # (k, n, C_in)
        return torch.addmm(self.bias, taps.transpose(0, 1).reshape(newest.shape[0], -1), self.weight)


class WaveNetGenerator:
    def __init__(self, model, n: int, label=None, local=None, temperature: float = 1.0):
        self.model, self.n, self.T = model, n, model.spec.num_dims
        dev = model.device
        self.K = model.spec.levels
        self.temperature = max(float(temperature), 1e-6)
        self.input = _Ring(model.input, n, dev)
        self.layers = []
        for layer in model.layers:
            out_w = torch.cat([layer.to_residual.weight[..., 0], layer.to_skip.weight[..., 0]]).detach()
            out_b = torch.cat([layer.to_residual.bias, layer.to_skip.bias]).detach()
            self.layers.append((_Ring(layer.conv, n, dev), out_w.t().contiguous(), out_b,
                                layer.to_residual.out_channels))
        head = model.head
        self.head = [(m.weight[..., 0].t().contiguous().detach(), m.bias.detach())
                     for m in head if isinstance(m, torch.nn.Conv1d)]
        with torch.no_grad():
            bias = model.conditioning(n, self.T, label, local, dev)  # (n, L, 2D, T|1) or None
        self.cond = None if bias is None else bias.permute(3, 1, 0, 2).contiguous()  # (T|1, L, n, 2D)
        self.pos = torch.zeros((), dtype=torch.long, device=dev)
        self.prev = torch.zeros(n, self.K, device=dev)  # one-hot of x_{t-1}; zeros at t = 0
        self.out = torch.zeros(n, self.T, dtype=torch.long, device=dev)
        self.uniforms = torch.zeros(self.T, n, device=dev)
        self.graph = None

    @torch.no_grad()
    def step(self):
        """Generate position ``pos`` for all n sequences; device ops only."""
        pos = self.pos
        h = self.input.step(pos, self.prev)  # (n, R)
        cond = None
        if self.cond is not None:
            cond = self.cond.index_select(0, pos.view(1) if self.cond.shape[0] > 1 else
                                          torch.zeros(1, dtype=torch.long, device=pos.device))[0]
        skips = 0
        for i, (ring, out_w, out_b, r) in enumerate(self.layers):
            pre = ring.step(pos, h)  # (n, 2D)
            if cond is not None:
                pre = pre + cond[i]
            filt, gate = pre.chunk(2, dim=1)
            both = torch.addmm(out_b, torch.tanh(filt) * torch.sigmoid(gate), out_w)  # (n, R+S)
            h = h + both[:, :r]
            skips = skips + both[:, r:]
        (w1, b1), (w2, b2) = self.head
        logits = torch.addmm(b2, F.relu(torch.addmm(b1, F.relu(skips), w1)), w2)  # (n, K)
        # Categorical.sample, with this step's pre-drawn uniform
        probs = F.softmax(logits.float() / self.temperature, dim=-1)
        cdf = probs.cumsum(-1)
        u = self.uniforms.index_select(0, pos.view(1))[0].unsqueeze(-1)  # (n, 1)
        value = (cdf < u * cdf[:, -1:]).sum(-1).clamp_(max=self.K - 1)  # (n,)
        self.out.index_copy_(1, pos.view(1), value.unsqueeze(1))
        self.prev.copy_(F.one_hot(value, self.K).float())
        self.pos += 1

    def _capture(self, chunk):
        # warm up on a side stream (as CUDA graphs require), then rewind the state
        saved = [t.clone() for t in self._state()]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self.step()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            for _ in range(chunk):
                self.step()
        for t, s in zip(self._state(), saved):
            t.copy_(s)

    def _state(self):
        return [self.pos, self.prev, self.out, self.input.buf] + [l[0].buf for l in self.layers]

    @torch.no_grad()
    def generate(self, generator=None, length=None, cuda_graph=True, chunk=64):
        """(n, length) codes; draws uniforms from ``generator`` in the sampler's order."""
        length = self.T if length is None else int(length)
        for t in range(length):  # one (n,) draw per position, exactly like sample_steps
            self.uniforms[t].copy_(cpu_rand((self.n,), generator, self.uniforms.device))
        for t in self._state():
            t.zero_()
        use_graph = cuda_graph and self.uniforms.is_cuda and length % chunk == 0
        if use_graph:
            if self.graph is None:
                self._capture(chunk)
            for _ in range(length // chunk):
                self.graph.replay()
        else:
            for _ in range(length):
                self.step()
        return self.out[:, :length].clone()
