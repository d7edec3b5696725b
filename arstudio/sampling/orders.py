"""Generation orders for order-agnostic models (no Qt).

An order is a permutation of the flattened dimensions (the model protocol's
``order``). Models trained over orderings (DeepNADE; MADE with ``order_agnostic``)
are exact in any of them (``ARModel.order_agnostic``, ``set_order``); every other
model generates in its own fixed order, which :func:`describe_order` names (raster,
or PixelSNAIL's zigzag).

For images (C, H, W) an order visits pixels and, inside a pixel, the channels in
turn (R, G, B), as the image models do. ``painted`` orders come from a rank map the
user paints: pixels are visited by increasing rank (ties in raster order).
"""
from __future__ import annotations

import numpy as np

ORDERS = ("raster", "reverse", "zigzag", "random", "centre-out", "painted")

NOTES = {
    "raster": "row by row, left to right: the order every PixelCNN uses",
    "reverse": "from the last pixel back to the first",
    "zigzag": "boustrophedon: even rows left to right, odd rows right to left (PixelSNAIL's option)",
    "random": "a random permutation (seeded): exact only for a model trained over orderings",
    "centre-out": "from the centre outwards, nearest pixels first",
    "painted": "the order you paint: pixels painted earlier come first, unpainted ones last",
}


def _grid(shape) -> tuple[int, int, int]:
    """(C, H, W) of an image shape; a vector (D,) is one row of D."""
    if len(shape) == 3:
        return tuple(int(s) for s in shape)
    if len(shape) == 1:
        return 1, 1, int(shape[0])
    raise ValueError(f"orders are defined for images (C, H, W) and vectors (D,), not {tuple(shape)}")


def pixel_order(name: str, shape, seed: int = 0, ranks: np.ndarray | None = None) -> np.ndarray:
    """The pixels (flattened H·W indices) in the order ``name`` visits them."""
    _, H, W = _grid(shape)
    P = H * W
    r, c = np.divmod(np.arange(P), W)
    if name == "raster":
        return np.arange(P)
    if name == "reverse":
        return np.arange(P)[::-1].copy()
    if name == "zigzag":
        return np.where(r % 2 == 1, r * W + (W - 1 - c), r * W + c)
    if name == "random":
        return np.random.default_rng(seed).permutation(P)
    if name == "centre-out":
        d = (r - (H - 1) / 2) ** 2 + (c - (W - 1) / 2) ** 2
        return np.argsort(d, kind="stable")
    if name == "painted":
        if ranks is None:
            raise ValueError("a painted order needs the painted rank map")
        ranks = np.asarray(ranks, dtype=np.float64).reshape(-1)
        if ranks.shape != (P,):
            raise ValueError(f"the rank map must have {P} pixels, got {ranks.size}")
        ranks = np.where(np.isfinite(ranks), ranks, np.inf)  # unpainted (inf) come last
        return np.argsort(ranks, kind="stable")
    raise ValueError(f"unknown order {name!r}; choose from {ORDERS}")


def make_order(name: str, shape, seed: int = 0, ranks: np.ndarray | None = None) -> np.ndarray:
    """A permutation of the flattened dimensions (C·H·W, channel-major like the data):
    pixels in ``name``'s order, channels in turn inside each pixel."""
    C, H, W = _grid(shape)
    pixels = pixel_order(name, shape, seed, ranks)
    return (np.arange(C)[None, :] * (H * W) + pixels[:, None]).reshape(-1)


def rank_map(order, shape) -> np.ndarray:
    """(H, W): the step at which each pixel is first visited (0 = first)."""
    C, H, W = _grid(shape)
    order = np.asarray(order).reshape(-1)
    pixels = order % (H * W)
    first = np.full(H * W, -1)
    seen = 0
    for p in pixels:
        if first[p] < 0:
            first[p] = seen
            seen += 1
    return first.reshape(H, W)


def describe_order(order, shape) -> str:
    """The name of ``order`` among :data:`ORDERS` (except painted), or "custom"."""
    order = np.asarray(order).reshape(-1)
    for name in ORDERS[:-1]:
        if name == "random":
            continue
        if np.array_equal(order, make_order(name, shape)):
            return name
    return "custom"
