"""Cached sampling for the Diagonal BiLSTM (``pixelrnn-diag``): one LSTM step
per direction per layer per pixel instead of a full sweep of the image.

In unskewed coordinates the forward direction's state at (r, c) comes from
(r, c-1) (state and cell) and (r-1, c) (state): computed at pixel (r, c).

The backward (mirrored) direction at (r, c) comes from (r, c+1) and (r-1, c);
it reaches row r shifted down by one, so pixel (r, c) reads its state at
(r-1, c), which depends only on rows <= r-1. When row r starts, row r-1 is
final: each layer's backward direction sweeps row r-1 right to left once.

Phantoms: the naive sweep of the skewed map also runs the LSTM on positions
outside the image (skewed columns left of a row's first pixel). There the
input is exactly zero but the biases are not, so the state and cell just
left of column 0 of row r are nonzero. They depend on nothing but the
weights (a phantom position only reads phantom positions), so they are
computed once per sampling run, by the same sweep on zero inputs
(:func:`phantom_edge`), for both directions (the backward one's phantom
sits right of the last column).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from arstudio.models._pixel_common import InputStepper
from arstudio.models._pixelrnn import lstm_update


def phantom_edge(direction, n: int, height: int, like: torch.Tensor):
    """State and cell just before column 0 of every row, in the direction's own
    (possibly mirrored) coordinates: two (height, n, h) tensors (row 0: zeros,
    its sweep starts at its first pixel).

    Sweeps the skewed columns 0 .. height-2 with zero input: at column j the
    rows r > j are phantoms, which read only phantoms (rows r-1, r of column
    j-1), so the rows <= j (data in the real sweep) cannot reach them.
    """
    h = direction.state_to_state.in_channels
    state = cell = like.new_zeros(n, h, height)  # (n, h, H): one skewed column
    states, cells = [like.new_zeros(n, h)], [like.new_zeros(n, h)]
    for j in range(height - 1):
        state, cell = lstm_update(direction.state_to_state(F.pad(state, (1, 0))), cell)
        states.append(state[:, :, j + 1])  # row j+1, one column left of its pixel 0
        cells.append(cell[:, :, j + 1])
    return torch.stack(states), torch.stack(cells)


def joint_state_weight(direction):
    """The 2×1 state-to-state kernel as one matrix over [state above, state before]."""
    w = direction.state_to_state.weight  # (4h, h, 2): tap 0 the row above, tap 1 the same row
    return torch.cat([w[:, :, 0], w[:, :, 1]], 1).detach()  # (4h, 2h)


def lstm_step(direction, w_state, i2s, above, before, cell_before):
    """One LSTM step from the input term, the state above and the state before."""
    s2s = F.linear(torch.cat([above, before], 1), w_state, direction.state_to_state.bias)
    return lstm_update(i2s + s2s, cell_before)  # (n, h) each


class DiagonalBiLSTMStepper(InputStepper):
    """make_stepper of :class:`~arstudio.models.pixelrnn_diag.PixelRNNDiag`."""

    def __init__(self, model, x):
        super().__init__(model, x)
        n, like, H = self.n, self.like, self.H
        h, W = model.input.out_channels, self.W
        # per layer, (forward, backward): the phantom state and cell left of each row
        self.edge = [(phantom_edge(L.forward_dir, n, H, like), phantom_edge(L.backward_dir, n, H, like))
                     for L in model.layers]
        self.w_state = [(joint_state_weight(L.forward_dir), joint_state_weight(L.backward_dir))
                        for L in model.layers]

        def zeros():  # one row of one layer
            return like.new_zeros(n, h, W)

        self.layer_in = [zeros() for _ in model.layers]  # (n, h, W): layer inputs, current row
        self.fwd_above = [zeros() for _ in model.layers]  # forward state, row r-1
        self.fwd = [(zeros(), zeros()) for _ in model.layers]  # forward state, cell, row r
        self.back = [zeros() for _ in model.layers]  # backward state of row r-1: feeds row r

    def backward_row(self, r):
        """Sweep every layer's backward direction over row r (final now), right to left."""
        m, w, W = self.model, self.weights, self.W
        for i, L in enumerate(m.layers):
            d = L.backward_dir
            if i == 0:  # the first layer's backward direction reads the whole rows
                inp = m.input_rows.row(self.input_cache, r, w[m.input_rows])  # (n, h, W)
            else:
                inp = self.layer_in[i]
            i2s = d.input_to_state.pointwise(inp.transpose(1, 2), w[d.input_to_state])  # (n, W, 4h)
            edge_state, edge_cell = self.edge[i][1]
            above, state, cell = self.back[i], edge_state[r], edge_cell[r]
            row = torch.empty_like(above)  # (n, h, W)
            for c in reversed(range(W)):
                state, cell = lstm_step(d, self.w_state[i][1], i2s[:, c], above[:, :, c], state, cell)
                row[:, :, c] = state
            self.back[i] = row

    def start_row(self, r):
        if r > 0:  # row r-1 is final: the forward states above, the backward sweep
            self.fwd_above = [state for state, _ in self.fwd]
            self.fwd = [(torch.zeros_like(s), torch.zeros_like(c)) for s, c in self.fwd]
            self.backward_row(r - 1)

    def compute_pixel(self, x, r, c):
        m, w = self.model, self.weights
        h = self.first_layer(x, r, c)  # (n, h)
        for i, L in enumerate(m.layers):
            self.layer_in[i][:, :, c] = h
            d, (states, cells) = L.forward_dir, self.fwd[i]
            if c > 0:
                before, cell_before = states[:, :, c - 1], cells[:, :, c - 1]
            else:  # the phantom left of column 0
                before, cell_before = self.edge[i][0][0][r], self.edge[i][0][1][r]
            i2s = d.input_to_state.pointwise(h, w[d.input_to_state])  # (n, 4h)
            state, cell = lstm_step(d, self.w_state[i][0], i2s, self.fwd_above[i][:, :, c],
                                    before, cell_before)
            states[:, :, c], cells[:, :, c] = state, cell
            # the backward state of row r-1 (zero on row 0, as the naive shift pads)
            h = h + L.out.pointwise(state + self.back[i][:, :, c], w[L.out])
        return h  # (n, h)
