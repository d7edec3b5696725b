"""Cached generation for PixelCNN++ across its strided U-net.

"Fast Generation for Convolutional Autoregressive Models" (Ramachandran et
al., 2017): keep every layer's values at its own resolution and compute a
value as soon as everything it depends on is known.

``PixelCNNpp.features`` is traced once (through :class:`TraceOps`, the same
wiring as the dense forward) into a list of :class:`Node` s in forward order.
Each node gets a *ready map* (H_s, W_s): for every position, the last raster
data pixel it depends on (-1: none, only biases). Maps propagate through the
layer geometry: a convolution takes the max over its (unmasked) window, a
strided one reads its window at (2r, 2c), elementwise ops take the max of their
inputs, the 2×2 stride-2 transposed convolution copies its source position.

Generating pixel p needs the pixels before p; step p therefore computes, node
by node in forward order, exactly the positions whose map value is p - 1 (all
they read has a map value <= p - 1: computed at this step or before). Step 0
(positions depending on no data) runs at cache creation.

Caches are position-major rings, ``(n, S + 1, ch)``: raster position p of a
node lives in slot p mod S, and every position outside the image reads the one
zero entry at the end: the zeros a padded convolution would read, so window
gathers need no bounds checks. S, per node, is the fewest slots such that no
position is overwritten (by position p + S) before the last step that reads it:
:func:`ring_slots`, from the same ready maps. Most nodes need one to three rows'
worth, so the caches hold a few rows of every layer rather than every layer's
whole map (``keep_all=True``: whole maps, S = H_s·W_s). Nodes read only at the
step that computes them, position by position (:func:`passed_on`), are stored
nowhere: their values go straight to their readers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import DiscretizedLogisticMixture
from arstudio.models.steppers import RasterStepper
from arstudio.nn import CausalConv2d, gated_linear


@dataclass(eq=False)
class Node:
    """One intermediate tensor of ``features``: (n, channels, height, width)."""

    kind: str  # input, conv, pointwise_conv, concat_elu, add, cat, gated_residual, grow, elu
    inputs: tuple
    channels: int
    height: int
    width: int
    ready: torch.Tensor  # (height, width) long: last data pixel each position depends on
    layer: nn.Module | None = None


@dataclass(frozen=True)
class Ring:
    """Where a node's positions live in its cache: raster position p = r·width + c in slot
    p mod ``slots``; every position outside the image (the padding a convolution reads)
    is the one entry after the slots, which stays zero."""

    slots: int
    width: int

    @property
    def size(self) -> int:
        return self.slots + 1

    def index(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        outside = (rows < 0) | (cols < 0) | (cols >= self.width)
        return torch.where(outside, self.slots, (rows * self.width + cols) % self.slots)


@dataclass(eq=False)
class Plan:
    """How a node is computed position by position (built once per sampler by :func:`_plan`).

    Positions are sorted by ready step: step q computes positions bounds[q] .. bounds[q+1]-1."""

    bounds: list[int]
    busy_steps: list[int]  # steps at which the node has positions to compute
    rows: list[int]  # (P,) each position's row and column, in plan order
    cols: list[int]
    pos: torch.Tensor  # (P,) padded flat index of each position in the node's cache
    gather: torch.Tensor | None = None  # conv: (P, taps) input indices; grow: (P,) source index
    reads: list | None = None  # pointwise: each input's (P,) indices of these positions
    tap: torch.Tensor | None = None  # grow: which of the 2×2 taps each position uses
    matrix: torch.Tensor | None = None  # the layer's weight as an F.linear matrix
    bias: torch.Tensor | None = None


def conv_offsets(layer: CausalConv2d) -> list[tuple[int, int]]:
    """Kernel taps (i, j) that any output channel reads (the mask is not all zero)."""
    used = layer.mask.flatten(0, 1).any(0)  # (kh, kw)
    return [(i, j) for i in range(layer.kh) for j in range(layer.kw) if used[i, j]]


def conv_window(layer: CausalConv2d, height: int, width: int):
    """Input rows and columns read by each output position of ``layer`` for each tap.

    Returns (rows, cols), each (H_out, W_out, taps): output (r, c) reads input
    (stride·r - (kh-1) + i, stride·c - anchor + j); out-of-range means padding.
    """
    s, taps = layer.stride, conv_offsets(layer)
    h_out, w_out = -(-height // s), -(-width // s)
    r = torch.arange(h_out).view(-1, 1, 1) * s - (layer.kh - 1)
    c = torch.arange(w_out).view(1, -1, 1) * s - layer.anchor
    di = torch.tensor([i for i, _ in taps]).view(1, 1, -1)
    dj = torch.tensor([j for _, j in taps]).view(1, 1, -1)
    return (r + di).expand(h_out, w_out, -1), (c + dj).expand(h_out, w_out, -1)


class TraceOps:
    """``features``'s operations on :class:`Node` s: records the graph and its ready maps."""

    def __init__(self, channels: int, height: int, width: int):
        ready = torch.arange(height * width).view(height, width)  # a data pixel is itself
        self.input = Node("input", (), channels, height, width, ready)
        self.nodes = [self.input]

    def _add(self, kind, inputs, channels, ready, layer=None):
        node = Node(kind, tuple(inputs), channels, ready.shape[0], ready.shape[1], ready, layer)
        self.nodes.append(node)
        return node

    def _pointwise(self, kind, inputs, channels):
        ready = torch.stack([x.ready for x in inputs]).amax(0)
        return self._add(kind, inputs, channels, ready)

    def conv(self, layer, x):
        if isinstance(layer, CausalConv2d):
            rows, cols = conv_window(layer, x.height, x.width)
            inside = (rows >= 0) & (cols >= 0) & (rows < x.height) & (cols < x.width)
            read = x.ready[rows.clamp(0, x.height - 1), cols.clamp(0, x.width - 1)]
            ready = torch.where(inside, read, -1).amax(-1)  # padding depends on nothing
            return self._add("conv", [x], layer.weight.shape[0], ready, layer)
        assert layer.kernel_size == (1, 1), "only 1×1 plain convolutions in the U-net"
        return self._add("pointwise_conv", [x], layer.out_channels, x.ready, layer)

    def concat_elu(self, x):
        return self._pointwise("concat_elu", [x], 2 * x.channels)

    def add(self, a, b):
        return self._pointwise("add", [a, b], a.channels)

    def cat(self, a, b):
        return self._pointwise("cat", [a, b], a.channels + b.channels)

    def elu(self, x):
        return self._pointwise("elu", [x], x.channels)

    def dropout(self, drop, x):
        return x  # sampling runs in eval mode, where dropout is the identity

    def size(self, x):
        return x.height, x.width

    def gated_residual(self, x, h):
        return self._pointwise("gated_residual", [x, h], x.channels)

    def grow(self, layer, x, height, width):
        # output (y, x) = bias + weight[:, :, y % 2, x % 2] · input (y // 2, x // 2)
        ys, xs = torch.arange(height) // 2, torch.arange(width) // 2
        ready = x.ready[ys.view(-1, 1), xs.view(1, -1)]
        return self._add("grow", [x], layer.out_channels, ready, layer)


def trace(model, height: int, width: int) -> list[Node]:
    """The nodes of ``model.features`` in forward order; the last one is the output."""
    ops = TraceOps(model.spec.shape[0], height, width)
    out = model.features(ops.input, ops=ops)
    assert out is ops.nodes[-1]
    return ops.nodes


# --- evaluating the graph position by position ------------------------------------------

def _layer_matrix(node: Node) -> torch.Tensor:
    """The node's weight as an F.linear matrix over what its gather produces."""
    layer = node.layer
    if node.kind == "conv":  # (Cout, taps·Cin), tap-major like the gathered windows
        taps = conv_offsets(layer)
        w = layer.masked_weight()[:, :, [i for i, _ in taps], [j for _, j in taps]]
        return w.permute(0, 2, 1).reshape(w.shape[0], -1)
    if node.kind == "grow":  # (4·Cout, Cin): all four taps of the 2×2 kernel at once
        w = layer.weight  # (Cin, Cout, 2, 2)
        return w.permute(2, 3, 1, 0).reshape(-1, w.shape[0])
    return layer.weight.flatten(1)  # 1×1 convolution: (Cout, Cin)


def _stored(node: Node, fused: set) -> Node:
    """The node whose cache holds ``node``'s values (a fused concat_elu reads its input's)."""
    return node.inputs[0] if node in fused else node


def _reads(node: Node, fused: set):
    """What ``node`` reads, as (stored input, (H, W, k) rows, cols of it) per input; the
    k positions read by each of node's positions (out-of-range ones: padding)."""
    H, W = node.height, node.width
    if node.kind == "conv":
        src = node.inputs[0]
        r_in, c_in = conv_window(node.layer, src.height, src.width)
        return [(_stored(src, fused), r_in, c_in)]
    rows = torch.arange(H).view(-1, 1, 1).expand(H, W, 1)
    cols = torch.arange(W).view(1, -1, 1).expand(H, W, 1)
    if node.kind == "grow":
        return [(_stored(node.inputs[0], fused), rows // 2, cols // 2)]
    return [(_stored(t, fused), rows, cols) for t in node.inputs]


def ring_slots(nodes: list[Node], fused: set, steps: int) -> dict:
    """The fewest slots S each stored node's ring needs: writing position p (at step
    ready + 1) overwrites p - S (and p - 2S, ...), which must not be read later: at a later
    step, or at that step by a node after the writer in forward order.

    ``steps``: the number of steps (pixels); positions computed at a later step are never
    computed, and the output node is read by the head at each pixel's own step, last."""
    N = len(nodes) + 1  # (step, node index) as one number: step·N + index; the head is N - 1
    last = {node: torch.full((node.height, node.width), -1) for node in nodes if node not in fused}
    for i, node in enumerate(nodes):
        if node in fused or node.kind == "input":
            continue
        step = (node.ready + 1).unsqueeze(-1)  # (H, W, 1): when each position is computed
        for src, r, c in _reads(node, fused):
            inside = (r >= 0) & (c >= 0) & (r < src.height) & (c < src.width) & (step < steps)
            flat = (r * src.width + c)[inside]
            last[src].view(-1).scatter_reduce_(0, flat, (step * N + i).expand_as(r)[inside], "amax")
    out = nodes[-1]
    head = torch.arange(out.height * out.width).view(out.height, out.width) * N + N - 1
    last[out] = torch.maximum(last[out], head)
    rings = {}
    for node, read_until in last.items():
        step = (node.ready + 1).flatten()
        written, read_until = step * N + nodes.index(node), read_until.flatten()
        P = written.numel()
        S = 1
        while S < P:
            # the latest read of any earlier position in p's slot (p - S, p - 2S, ...)
            pad = -(-P // S) * S - P
            earlier = F.pad(read_until, (0, pad), value=-1).view(-1, S).cummax(0).values
            earlier = torch.cat([torch.full((1, S), -1), earlier[:-1]]).flatten()[:P]
            if not ((step < steps) & (written < earlier)).any():
                break
            S += 1
        rings[node] = Ring(S, node.width)
    return rings


def _plan(node: Node, device, rings: dict, fused: set) -> Plan:
    """Positions sorted by ready step, with what each one reads, and per-step bounds."""
    ready = node.ready.flatten()
    order = torch.argsort(ready, stable=True)
    rows, cols = order // node.width, order % node.width
    counts = torch.bincount(ready + 1)  # steps past the last value compute nothing here
    own = rings[_stored(node, fused)]
    plan = Plan(bounds=[0] + torch.cumsum(counts, 0).tolist(),  # step q: ready == q - 1
                busy_steps=torch.nonzero(counts).flatten().tolist(),
                rows=rows.tolist(), cols=cols.tolist(),
                pos=own.index(rows, cols).to(device))
    if node.kind == "input" or node in fused:
        pass
    elif node.kind == "conv":
        src, r_in, c_in = _reads(node, fused)[0]
        plan.gather = rings[src].index(r_in, c_in).flatten(0, 1)[order].to(device)
    elif node.kind == "grow":
        src = _stored(node.inputs[0], fused)
        plan.gather = rings[src].index(rows // 2, cols // 2).to(device)
        plan.tap = ((rows % 2) * 2 + cols % 2).to(device)
    else:
        plan.reads = [rings[_stored(t, fused)].index(rows, cols).to(device) for t in node.inputs]
    if node.layer is not None:
        plan.matrix = _layer_matrix(node).detach()
        bias = node.layer.bias
        plan.bias = None if bias is None else bias.detach()
    return plan


def _compute(node: Node, plan: Plan, read, a: int, b: int, model, x) -> torch.Tensor:
    """The node's values at its positions a..b-1 of the plan: (n, P, channels).

    ``read(input_node, index)`` gives an input's values at padded flat indices."""
    kind, inputs = node.kind, node.inputs
    n = x.shape[0]
    if kind == "input":  # data pixels, scaled as the dense path scales them
        r, c = plan.rows[a:b], plan.cols[a:b]
        return model.scale_input(x[:, :, r, c]).transpose(1, 2)
    if kind == "conv":
        idx = plan.gather[a:b]  # (P, taps)
        window = read(inputs[0], idx.flatten()).view(n, idx.shape[0], -1)
        return F.linear(window, plan.matrix, plan.bias)
    if kind == "grow":
        src = read(inputs[0], plan.gather[a:b])  # (n, P, Cin)
        every_tap = F.linear(src, plan.matrix).view(n, b - a, 4, -1)  # (n, P, 4, Cout)
        tap = plan.tap[a:b]
        out = every_tap[:, torch.arange(b - a, device=tap.device), tap]  # (n, P, Cout)
        return out if plan.bias is None else out + plan.bias
    at = [read(t, idx[a:b]) for t, idx in zip(inputs, plan.reads)]  # (n, P, ch) each
    if kind == "pointwise_conv":
        return F.linear(at[0], plan.matrix, plan.bias)
    if kind == "concat_elu":
        return concat_elu_last(at[0])
    if kind == "elu":
        return F.elu(at[0])
    if kind == "add":
        return at[0] + at[1]
    if kind == "cat":
        return torch.cat(at, -1)
    if kind == "gated_residual":
        return at[0] + gated_linear(at[1], -1)  # x + a ⊙ σ(b), as DenseOps.gated_residual
    raise ValueError(f"unknown node kind {kind!r}")


def concat_elu_last(v: torch.Tensor) -> torch.Tensor:  # (..., c) -> (..., 2c)
    """elu([v, -v]) in one new tensor (the negation and the elu in place): at a large
    batch these windows are a step's biggest transients."""
    out = torch.cat([v, v], -1)
    out[..., v.shape[-1]:].neg_()
    return F.elu(out, inplace=True)


def fusable(nodes: list[Node]) -> set[Node]:
    """concat_elu nodes read only by convolutions: computed on the fly from their input's
    cache inside the reading convolution's gather (elementwise, so the values are the
    same), instead of being stored: a third fewer layers per step and no 2c-wide caches."""
    readers = {node: [] for node in nodes}
    for node in nodes:
        for source in node.inputs:
            readers[source].append(node)
    return {node for node in nodes if node.kind == "concat_elu" and readers[node]
            and all(r.kind in ("conv", "pointwise_conv") for r in readers[node])}


POINTWISE = ("pointwise_conv", "concat_elu", "elu", "add", "cat", "gated_residual")


def passed_on(nodes: list[Node], fused: set) -> set[Node]:
    """Nodes stored nowhere: every reader reads them position by position and has the same
    ready map (so the same positions at every step, in the same order). Their values go
    straight from the step that computes them to the readers at that step."""
    readers = {node: [] for node in nodes}
    for node in nodes:
        for source in node.inputs:
            readers[source].append(node)
    out = set()
    for node in nodes[:-1]:  # the output is read by the head
        rs = readers[node]
        if (node not in fused and node.kind != "input" and rs
                and all(r not in fused and r.kind in POINTWISE and torch.equal(r.ready, node.ready)
                        for r in rs)):
            out.add(node)
    return out


class PixelCNNppStepper(RasterStepper):
    """make_stepper of PixelCNN++: every layer computes only its newly computable positions.

    Features at pixel p depend only on pixels before p (``reads_own_pixel`` is
    False), so ``compute_pixel`` runs once per pixel (the step of its first
    channel): step p computes, node by node, the positions whose ready value is
    p - 1, and the output head is evaluated once per pixel; each channel's mixture
    then reuses the model's own per-pixel arithmetic (:meth:`PixelCNNpp.pixel_mixture`)
    with the channels already sampled. Pixels skipped by completion are caught up.
    """

    reads_own_pixel = False

    def __init__(self, model, x: torch.Tensor, keep_all: bool = False):
        super().__init__(model)
        self.nodes = trace(model, self.H, self.W)
        self.fused = fusable(self.nodes)
        if keep_all:  # every node's whole map (for inspection): rings as tall as the map
            self.passed = set()
            self.rings = {node: Ring(node.height * node.width, node.width)
                          for node in self.nodes if node not in self.fused}
        else:
            self.passed = passed_on(self.nodes, self.fused)
            self.rings = ring_slots(self.nodes, self.fused, self.H * self.W)
        self.step_values = {}  # the passed-on nodes' values at the current step
        last_reader = {}
        for i, node in enumerate(self.nodes):
            for source in node.inputs:
                last_reader[source] = i
        self.done_after = {}  # node index -> passed-on values no later node reads
        for node in self.passed:
            self.done_after.setdefault(last_reader[node], []).append(node)
        self.plans = {node: _plan(node, x.device, self.rings, self.fused) for node in self.nodes}
        n = x.shape[0]
        self.caches = {node: x.new_zeros((n, ring.size, node.channels), dtype=model.out.weight.dtype)
                       for node, ring in self.rings.items() if node not in self.passed}
        self.head_index = self.rings[self.nodes[-1]].index  # where the head reads pixel (r, c)
        out = model.out
        self.head_weight, self.head_bias = out.weight.detach().flatten(1), out.bias.detach()
        self.schedule = self._schedule()

    def _schedule(self):
        """For every step, the indices of the nodes with work, in forward order: most
        nodes have nothing to do at most steps, and are not visited there at all.
        (Plain ints: tens of thousands of small tuples would keep the garbage collector busy.)"""
        schedule = [[] for _ in range(self.H * self.W)]
        for i, node in enumerate(self.nodes):
            if node in self.fused:
                continue
            for q in self.plans[node].busy_steps:
                if q < len(schedule):  # the last pixel's own data feed nothing generated
                    schedule[q].append(i)
        return schedule

    def compute_pixel(self, x: torch.Tensor, r: int, c: int):
        """Step q = pixel (r, c): every position whose ready value is q - 1; then the
        head's parameters at (r, c), (n, 1 + 2C + pairs, M)."""
        q = r * self.W + c
        for i in self.schedule[q]:
            node = self.nodes[i]
            plan = self.plans[node]
            a, b = plan.bounds[q], plan.bounds[q + 1]
            value = _compute(node, plan, self._read, a, b, self.model, x)
            if node in self.passed:
                self.step_values[node] = value
            else:
                self.caches[node].index_copy_(1, plan.pos[a:b], value)
            del value
            for done in self.done_after.get(i, ()):  # freed as soon as its last reader ran
                self.step_values.pop(done, None)
        pos = self.head_index(torch.tensor([r]), torch.tensor([c])).to(x.device)
        h = self.caches[self.nodes[-1]].index_select(1, pos)[:, 0]  # (n, F)
        params = F.linear(h, self.head_weight, self.head_bias)  # (n, M·(1 + 2C + pairs))
        return params.view(x.shape[0], -1, self.model.config.mixtures)

    def _read(self, node: Node, index: torch.Tensor) -> torch.Tensor:
        """``node``'s values at padded flat indices: (n, len(index), channels)."""
        if node in self.passed:  # computed at this step, at the reader's own positions
            return self.step_values[node]
        if node in self.fused:  # padding stays zero: concat_elu(0) = 0
            return concat_elu_last(self.caches[node.inputs[0]].index_select(1, index))
        return self.caches[node].index_select(1, index)

    def head(self, params, channel, x, r, c):
        pixel_x = x[:, :, r, c]  # (n, C)
        mix, mu, log_scales = self.model.pixel_mixture(params, self.model.scale_input(pixel_x), pixel_x)
        return DiscretizedLogisticMixture(mix[:, channel], mu[:, channel], log_scales[:, channel],
                                          self.model.spec.levels)
