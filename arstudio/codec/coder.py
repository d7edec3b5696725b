"""Range coding of discrete data with an autoregressive model's conditionals.

An AR model gives p(x) = prod_i p(x_i | x_<i); a range coder fed those
conditionals one dimension at a time stores x in about -log2 p(x) bits, so the
file is the model's negative log-likelihood plus a few bytes
(Witten, Neal & Cleary 1987; MacKay 2003, ch. 6). The coder is ``constriction``'s
queue range coder (Bamler 2022).

The decoder cannot use teacher forcing: it only learns x_i after decoding it,
so it regenerates the data one dimension at a time through the model's cached
stepper (``model.make_stepper``), exactly like sampling with the random draw
replaced by a decode. For the decode to succeed, encoder and decoder must feed
the coder bit-identical probabilities. Both directions therefore run the same
function, :func:`walk`: the same stepper on the same (batch, *shape) buffer
holding only the values known so far (zeros elsewhere), the same batch
composition (rows padded to a fixed batch size stored in the file), float64
probabilities quantised deterministically to integer frequencies summing to
2**24 with a floor of one. Only the source of each symbol differs: the data
(encode) or the range decoder (decode). A checksum of the data, stored by the
encoder and compared by the decoder, catches any remaining mismatch (another
machine's floating point, a damaged file) and it is reported, never written.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

PRECISION = 24  # bits of the integer frequencies (constriction's categorical precision)
TOTAL = 1 << PRECISION
DEFAULT_BATCH = 32  # rows per stepper run (padded); stored in the file


class CodecError(Exception):
    """A file that cannot be decoded correctly; the message says why in one line."""


def quantise(probs: np.ndarray) -> np.ndarray:
    """(n, K) probabilities -> (n, K) int64 frequencies, each >= 1, each row summing to 2**24.

    floor(p * (2**24 - K)) + 1 per symbol, the rounding remainder added to the most
    probable symbol: a pure function of the float64 input, so equal inputs give equal
    tables on any machine."""
    p = np.asarray(probs, dtype=np.float64)
    n, K = p.shape
    p = p / p.sum(axis=1, keepdims=True)
    freq = np.floor(p * (TOTAL - K)).astype(np.int64) + 1
    freq[np.arange(n), p.argmax(axis=1)] += TOTAL - freq.sum(axis=1)
    return freq


def _coder_model():
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


def data_checksum(codes: torch.Tensor) -> bytes:
    """8 bytes of SHA-256 over the codes as little-endian int16."""
    import hashlib

    arr = codes.detach().cpu().to(torch.int16).contiguous().numpy().astype("<i2")
    return hashlib.sha256(arr.tobytes()).digest()[:8]


def weights_hash(model) -> bytes:
    """8 bytes of SHA-256 over every tensor of the state dict (names, dtypes, shapes, bytes)."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.digest()[:8]


@dataclass
class WalkResult:
    codes: torch.Tensor  # (n, *shape) long: the data (encode) or what was decoded
    bits: torch.Tensor  # (n, *shape) float64: -log2 of each symbol's quantised probability
    labels: torch.Tensor | None = None  # (n,) the class ids it was coded under (conditional models)
    label_bits: float = 0.0  # what coding the class ids cost (``label_ids`` > 0), bits


def uniform_table(n: int, k: int) -> np.ndarray:
    """(n, k) frequencies of a uniform choice among k ids: how class ids are coded."""
    return quantise(np.full((n, k), 1.0 / k))


@torch.no_grad()
def walk(model, n: int, lengths: list[int], symbol: Callable[[int, np.ndarray, list[int]], np.ndarray],
         batch: int = DEFAULT_BATCH, labels: torch.Tensor | None = None,
         progress: Callable[[int, int], None] | None = None,
         watch: Callable[[torch.Tensor], None] | None = None) -> WalkResult:
    """The one loop both directions run: rows in chunks of ``batch`` (padded with zero rows),
    dimensions in the model's order. ``symbol(i, freq, rows)`` gets the quantised table (r, K) of
    dimension ``i`` for the ``rows`` of the chunk that have it and returns their values.
    Row r has the first ``lengths[r]`` dimensions of the order; the rest are 0 on both sides.
    ``watch(codes)`` sees the (n, D) codes known so far after each dimension (for animation)."""
    spec = model.spec
    if not spec.discrete:
        raise CodecError(f"{model.registry_name} models real-valued data: only discrete data can be "
                         "coded losslessly")
    if not model.autoregressive:
        raise CodecError(f"{model.registry_name} is not an autoregressive model of its data: code with "
                         "an autoregressive model (for a VQ-VAE, its prior over codes)")
    was_training = model.training
    model.eval()
    order = model.order.tolist()
    D = spec.num_dims
    codes = torch.zeros((n, D), dtype=torch.long)
    bits = torch.zeros((n, D), dtype=torch.float64)
    done, total = 0, n * D
    try:
        for start in range(0, n, batch):
            rows = list(range(start, min(n, start + batch)))
            x = torch.zeros((batch, *spec.shape), dtype=torch.long, device=model.device)
            flat = x.view(batch, -1)
            cond = {}
            if labels is not None and model.uses_labels:
                lab = torch.zeros(batch, dtype=torch.long)
                lab[: len(rows)] = labels[rows]
                cond["label"] = lab.to(model.device)
            stepper = model.make_stepper(x, **cond)
            for pos, i in enumerate(order):
                live = [k for k, r in enumerate(rows) if pos < lengths[r]]
                if not live:
                    break
                dist = stepper.conditional(i, x)
                probs = dist.probs().detach().to("cpu", torch.float64).numpy()[live]
                freq = quantise(probs)
                values = np.asarray(symbol(i, freq, [rows[k] for k in live]), dtype=np.int64)
                vt = torch.from_numpy(values)
                flat[live, i] = vt.to(x.device)
                idx = torch.tensor([rows[k] for k in live])
                codes[idx, i] = vt
                bits[idx, i] = torch.from_numpy(PRECISION - np.log2(freq[np.arange(len(live)), values]))
                done += len(live)
                if progress is not None:
                    progress(done, total)
                if watch is not None:
                    watch(codes)
    finally:
        model.train(was_training)
    return WalkResult(codes.view(n, *spec.shape), bits.view(n, *spec.shape))


def encode(model, codes: torch.Tensor, lengths: list[int] | None = None, batch: int = DEFAULT_BATCH,
           labels=None, progress=None, label_ids: int = 0) -> tuple[np.ndarray, WalkResult]:
    """Range-code ``codes`` (n, *shape): the compressed words (uint32) and the walk's bit costs.
    ``label_ids`` > 0: the rows' class ids (``labels``) go first into the stream, each a uniform
    choice among that many ids (log2 of it in bits), so the decoder reads them back before the data."""
    import constriction

    n = len(codes)
    lengths = [model.spec.num_dims] * n if lengths is None else list(lengths)
    flat = codes.reshape(n, -1).cpu().long()
    if bool((flat < 0).any()) or bool((flat >= model.spec.levels).any()):
        raise CodecError(f"data outside the model's {model.spec.levels} levels")
    encoder = constriction.stream.queue.RangeEncoder()
    family = _coder_model()
    label_bits = 0.0
    if label_ids:
        ids = labels.reshape(-1).cpu().long().numpy()
        if len(ids) != n or ids.min() < 0 or ids.max() >= label_ids:
            raise CodecError(f"class ids outside 0..{label_ids - 1}")
        freq = uniform_table(n, label_ids)
        encoder.encode(ids.astype(np.int32), family, (freq / TOTAL).astype(np.float64))
        label_bits = float(np.sum(PRECISION - np.log2(freq[np.arange(n), ids])))

    def from_data(i, freq, rows):
        values = flat[rows, i].numpy()
        encoder.encode(values.astype(np.int32), family, (freq / TOTAL).astype(np.float64))
        return values

    result = walk(model, n, lengths, from_data, batch, labels, progress)
    result.labels, result.label_bits = labels, label_bits
    return encoder.get_compressed(), result


def decode(model, words: np.ndarray, n: int, lengths: list[int] | None = None,
           batch: int = DEFAULT_BATCH, labels=None, progress=None, watch=None,
           label_ids: int = 0) -> WalkResult:
    """Regenerate n rows from the compressed words, one dimension at a time (``label_ids`` > 0:
    first the rows' class ids, coded by :func:`encode` ahead of the data)."""
    import constriction

    lengths = [model.spec.num_dims] * n if lengths is None else list(lengths)
    decoder = constriction.stream.queue.RangeDecoder(np.ascontiguousarray(words, dtype=np.uint32))
    family = _coder_model()
    if label_ids:
        ids = decoder.decode(family, (uniform_table(n, label_ids) / TOTAL).astype(np.float64))
        labels = torch.from_numpy(np.asarray(ids, dtype=np.int64))

    def from_stream(i, freq, rows):
        return decoder.decode(family, (freq / TOTAL).astype(np.float64))

    result = walk(model, n, lengths, from_stream, batch, labels, progress, watch)
    result.labels = labels
    return result


def nll_bits(model, codes: torch.Tensor, labels=None, batch_size: int = 256) -> torch.Tensor:
    """The model's own -log2 p(x) per row by teacher forcing (unquantised), float64."""
    out = []
    was = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, len(codes), batch_size):
            xb = codes[s: s + batch_size].to(model.device)
            kw = {}
            if labels is not None and model.uses_labels:
                kw["label"] = labels[s: s + batch_size].to(model.device)
            out.append(-model.log_prob(xb, **kw).double().cpu() / math.log(2.0))
    model.train(was)
    return torch.cat(out)
