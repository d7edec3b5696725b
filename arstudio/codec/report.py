"""What the Compress view shows, computed without Qt: each image coded on its own
(.arz with its header, as a file a user would keep) beside PNG, WebP and JPEG XL of
the same image, the per-pixel cost in bits, and the decoder rebuilding it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from arstudio.codec import classic, coder
from arstudio.codec.container import read_arz
from arstudio.codec.files import Items, check_model, compress, decode_words


@dataclass
class ImageReport:
    sizes: dict[str, np.ndarray]  # codec -> (N,) bytes per image ("coded": the .arz without its header)
    bits: np.ndarray  # (N, C, H, W) cost of each sub-pixel in bits under the model
    nll_bytes: np.ndarray  # (N,) the model's own -log2 p(x) / 8
    blobs: list[bytes]  # the .arz file of each image
    labels: np.ndarray | None = None  # (N,) the class each image was coded under (class-conditional models)
    where: str | None = None  # where those classes came from, in words


def compare_images(model, key: str, x: torch.Tensor, labels: torch.Tensor | None = None,
                   label: int | None = None) -> ImageReport:
    """Code each of ``x`` (N, C, H, W) alone with the model and with the usual codecs. A
    class-conditional model codes each image under ``label`` when given, else under its
    entry of ``labels`` (the data set's), as ``files.class_labels`` decides; the class is kept
    in each image's .arz header."""
    from arstudio.codec.files import class_labels

    levels = model.spec.levels
    every, where = class_labels(model, Items("images", x.long(), [model.spec.num_dims] * len(x), None, labels),
                                label)
    arz, coded, blobs, bits, nll = [], [], [], [], []
    for k, img in enumerate(x):
        one = None if every is None else every[k: k + 1]
        c = compress(model, key, Items("images", img[None].long(), [model.spec.num_dims], None, one), batch=1)
        arz.append(len(c.blob))
        coded.append(c.payload_bytes)
        blobs.append(c.blob)
        bits.append(c.bits[0].numpy())
        nll.append(float(c.nll_bits[0]) / 8)
    arrays = classic.image_arrays(x.long(), levels)
    sizes = {"coded": np.array(coded), ".arz": np.array(arz), "PNG": np.array([classic.png_bytes(a, levels) for a in arrays]),
             "WebP": np.array([classic.webp_bytes(a) for a in arrays])}
    jxl = [classic.jxl_bytes(a) for a in arrays]
    if None not in jxl:
        sizes["JPEG XL"] = np.array(jxl)
    return ImageReport(sizes, np.stack(bits), np.array(nll), blobs,
                       None if every is None else every.numpy(), where)


def rebuild(model, blob: bytes, watch: Callable[[np.ndarray], None] | None = None,
            every: int = 1) -> np.ndarray:
    """Decode one image's .arz dimension by dimension; ``watch`` gets the partial image
    (C, H, W) every ``every`` dimensions. Raises CodecError if the checksum fails."""
    shape = model.spec.shape
    count = {"i": 0}

    def seen(codes: torch.Tensor):
        count["i"] += 1
        if watch is not None and count["i"] % every == 0:
            watch(codes[0].view(shape).numpy().copy())

    header, words = read_arz(blob)
    check_model(header, model)
    result = decode_words(model, header, words, None, None, seen)
    if coder.data_checksum(result.codes) != header.checksum:
        raise coder.CodecError("decoded image fails the checksum")
    return result.codes[0].numpy()
