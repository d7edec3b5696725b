"""Steppers: the one shape every sampler has.

``ARModel.sample_steps`` owns the loop, the random stream and completion; for
each dimension it asks a stepper ``conditional(index, x)`` for p(x_index | x_<index)
given the live buffer ``x`` (n, *shape), where every entry before ``index`` in
the model's order is known. A stepper owns whatever it keeps between calls as
plain attributes (caches, running sums, recurrent states, key/value caches);
nothing lives in string-keyed dicts or in the model.

- :class:`NaiveStepper`: reruns the whole network each time (O(D) passes).
- :class:`SequenceStepper`: left to right through a sequence of positions
  (the flattened dimensions, or the model's order): ``advance`` feeds one
  position, ``head`` reads its conditional. RNN, causal-conv ARM, WaveNet,
  the Transformers and NADE are instances.
- :class:`RasterStepper`: images (C, H, W) in raster order, channels inner:
  ``compute_pixel`` evaluates every layer at one pixel from the caches,
  ``head`` reads a channel's conditional. The PixelCNN family, the PixelRNNs
  and PixelSNAIL are instances.

Positions (pixels) that completion skips because they are known in every
sample are caught up on the next call, so the caches always hold every
position before the one asked for. Steppers move forward only.
"""
from __future__ import annotations

import torch

from arstudio.distributions import Conditionals


class Stepper:
    """``conditional(index, x)`` -> the Conditionals (batch (n,)) of flattened dimension
    ``index`` given the known entries of ``x`` before it in the model's order."""

    def __init__(self, model):
        self.model = model

    def conditional(self, index: int, x: torch.Tensor) -> Conditionals:
        raise NotImplementedError


class NaiveStepper(Stepper):
    """Reruns the whole network for every dimension: O(D) full passes."""

    def __init__(self, model, x: torch.Tensor, **cond):
        super().__init__(model)
        self.cond = cond

    def conditional(self, index: int, x: torch.Tensor) -> Conditionals:
        return self.model.conditionals(x, **self.cond).at(index)


class SequenceStepper(Stepper):
    """Cached generation through positions 0, 1, 2, ... of a sequence.

    Subclasses keep their state as attributes and implement
    ``advance(t, flat)``: take position t into the state (its inputs, the
    values of positions < t in ``flat`` (n, D), are known) and return what the
    head reads; and ``head(h, index)`` -> Conditionals (batch (n,)).
    ``position(index)`` maps a flattened dimension to its position (itself,
    unless the model generates in another order).
    """

    def __init__(self, model):
        super().__init__(model)
        self.next = 0  # the first position not yet taken into the state

    def position(self, index: int) -> int:
        return index

    def advance(self, t: int, flat: torch.Tensor):
        raise NotImplementedError

    def head(self, h, index: int) -> Conditionals:
        raise NotImplementedError

    def conditional(self, index: int, x: torch.Tensor) -> Conditionals:
        target = self.position(index)
        if target < self.next:
            raise ValueError(f"a stepper moves forward only: position {target} is behind {self.next}")
        flat = x.reshape(x.shape[0], -1)
        h = None
        for t in range(self.next, target + 1):  # positions skipped by completion: catch up
            h = self.advance(t, flat)
        self.next = target + 1
        return self.head(h, index)


def raster_order(shape) -> torch.Tensor:
    """The order a :class:`RasterStepper` generates (C, H, W) in: pixels in raster order,
    channels inner (R -> G -> B within a pixel), as indices into the flattened (C, H, W)."""
    C, H, W = shape
    return torch.arange(C * H * W).view(C, H * W).t().reshape(-1)


class RasterStepper(Stepper):
    """Cached generation over (C, H, W) in raster order, channels inner.

    Subclasses keep every layer's cache as attributes and implement
    ``compute_pixel(x, r, c)``: every layer's value at pixel (r, c) (the pixels
    before it are final in the caches), written into the caches, returning the
    features the head reads; ``head(features, channel, x, r, c)`` defaults to the
    model's :class:`~arstudio.models._pixel_common.PixelHead` read with the masked
    weights the stepper keeps in ``weights``.

    ``reads_own_pixel``: whether the features at pixel p see p's earlier
    channels (colour-grouped mask-B layers): then sub-pixel g of p recomputes
    pixel p, and p is final after its last channel. Models whose features see
    only earlier pixels (PixelCNN++) compute each pixel once.
    """

    reads_own_pixel = True

    def __init__(self, model):
        super().__init__(model)
        self.C, self.H, self.W = model.spec.shape
        self.next_pixel = 0  # first pixel whose cached values are not final yet
        self.features = None  # what compute_pixel gave for the latest pixel
        self.weights: dict = {}  # layer -> its masked weight, computed once per run

    def internal_pixel(self, pixel: int) -> int:
        """The pixel the network computes for data pixel ``pixel`` (raster: itself)."""
        return pixel

    def compute_pixel(self, x: torch.Tensor, r: int, c: int):
        raise NotImplementedError

    def head(self, features, channel: int, x: torch.Tensor, r: int, c: int) -> Conditionals:
        return self.model.head.at(features, channel, self.weights)

    def conditional(self, index: int, x: torch.Tensor) -> Conditionals:
        channel, pixel = divmod(index, self.H * self.W)
        pixel = self.internal_pixel(pixel)
        for q in range(self.next_pixel, pixel + 1):
            self.features = self.compute_pixel(x, q // self.W, q % self.W)
        # nothing at a pixel depends on its last channel: then the pixel is final
        final = channel == self.C - 1 or not self.reads_own_pixel
        self.next_pixel = pixel + 1 if final else pixel
        return self.head(self.features, channel, x, pixel // self.W, pixel % self.W)
