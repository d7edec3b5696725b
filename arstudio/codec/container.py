"""The .arz file: a small self-describing header, then the range coder's words.

    offset  size  field
    0       3     magic b"ARZ"
    3       1     format version (2; version 1 files are read too)
    4       1     kind: 0 images, 1 sound (mu-law codes), 2 text (characters), 3 other sequences
    5       1+n   model key (length byte, UTF-8): a bundled model's name or a checkpoint path
    .       8     SHA-256 of the model's weights (first 8 bytes)
    .       1+2k  data shape (rank byte, uint16 each), then levels (uint16)
    .       2     batch rows per stepper run (the decoder must use the same)
    .       4     rows coded
    .       8     SHA-256 of the data codes (first 8 bytes): checked after decoding
    .       2+m   extras as compact JSON (uint16 length; 0 when none): file names, lengths,
                  sample rate, and the class of a class-conditional model's rows:
                  ``"label": K`` when every row has class K, or ``"label_ids": K`` when
                  the rows' classes are the first symbols of the stream (each a uniform
                  choice among K ids). Version 1 kept a list ``"labels"`` here.
    .       rest  the compressed words, uint32 little-endian

Version 2 differs from version 1 only in how classes are kept (version 1's list grew
the header by two to three bytes an example); version 1 files decode as before.
All integers are little-endian. About 40 bytes plus the key for a data-set
split; the bench reports it apart from the coded payload.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

from arstudio.codec.coder import CodecError

MAGIC = b"ARZ"
VERSION = 2
READS = (1, 2)  # the versions read_arz accepts
KINDS = ("images", "sound", "text", "sequence")


@dataclass
class Header:
    kind: str
    model_key: str
    weights: bytes  # 8 bytes
    shape: tuple[int, ...]
    levels: int
    batch: int
    rows: int
    checksum: bytes  # 8 bytes
    extras: dict = field(default_factory=dict)
    version: int = VERSION  # what pack() writes; read_arz keeps the file's

    def pack(self) -> bytes:
        key = self.model_key.encode("utf-8")
        if len(key) > 255:
            raise CodecError(f"model key too long for the file ({len(key)} bytes): {self.model_key}")
        extras = json.dumps(self.extras, separators=(",", ":")).encode() if self.extras else b""
        if len(extras) > 0xFFFF:
            raise CodecError("too many file names or labels for one .arz file; split the inputs")
        return b"".join([
            MAGIC, struct.pack("<BB", self.version, KINDS.index(self.kind)),
            struct.pack("<B", len(key)), key, self.weights,
            struct.pack(f"<B{len(self.shape)}HH", len(self.shape), *self.shape, self.levels),
            struct.pack("<HI", self.batch, self.rows), self.checksum,
            struct.pack("<H", len(extras)), extras,
        ])


def write_arz(header: Header, words: np.ndarray) -> bytes:
    return header.pack() + np.ascontiguousarray(words, dtype="<u4").tobytes()


MAX_CODES = 1 << 26  # rows × dimensions one file may ask the decoder for (64 M codes)
MAX_BATCH = 4096  # rows per stepper run that compress writes (arstudio compress --batch)
MAX_RATE = 384_000  # a sound file's sample rate, as the audio reader allows


def _check_header(h: Header, name: str) -> None:
    """A parsed header's fields are what the encoder writes: anything else (a stranger's
    file, a damaged one) is refused before the decoder allocates or loops on it."""
    import math

    def bad(why):
        return CodecError(f"{name}: damaged .arz header ({why})")

    dims = math.prod(h.shape) if h.shape else 0
    if not h.shape or dims < 1:
        raise bad(f"data shape {h.shape}")
    if h.rows < 1 or h.rows * dims > MAX_CODES:
        raise bad(f"{h.rows:,} rows of {dims:,} codes; at most {MAX_CODES:,} codes in all")
    if not 1 <= h.batch <= max(h.rows, MAX_BATCH) or h.batch * dims > MAX_CODES:
        raise bad(f"batch {h.batch} for {h.rows:,} rows of {dims:,} codes")
    if not isinstance(h.extras, dict):
        raise bad("its extras are not a table")
    files = h.extras.get("files")
    if files is not None:
        if not isinstance(files, list) or not all(
                isinstance(f, list) and len(f) == 2 and isinstance(f[0], str) and "\0" not in f[0]
                and len(f[0]) <= 255 and type(f[1]) is int and 0 < f[1] <= MAX_CODES for f in files):
            raise bad("file names and lengths")
        if h.kind != "images" and sum(-(-f[1] // dims) for f in files) != h.rows:
            raise bad(f"the file lengths do not add up to {h.rows:,} rows")
    labels = h.extras.get("labels")
    if labels is not None and (not isinstance(labels, list) or len(labels) != h.rows
                               or not all(type(v) is int and 0 <= v < 1 << 16 for v in labels)):
        raise bad("labels")
    for key, low in (("label", 0), ("label_ids", 1)):  # version 2: one class, or the classes coded first
        v = h.extras.get(key)
        if v is not None and not (type(v) is int and low <= v < 1 << 16):
            raise bad(f"{key} {v!r}")
    rate = h.extras.get("rate")
    if rate is not None and not (type(rate) is int and 1000 <= rate <= MAX_RATE):
        raise bad(f"sample rate {rate!r}")


def read_arz(blob: bytes, name: str = "file") -> tuple[Header, np.ndarray]:
    """Parse a .arz file; anything malformed is a one-line CodecError."""
    try:
        if blob[:3] != MAGIC:
            raise CodecError(f"{name}: not an .arz file (no ARZ magic)")
        version, kind = struct.unpack_from("<BB", blob, 3)
        if version not in READS:
            raise CodecError(f"{name}: .arz format version {version}; this ARStudio reads versions "
                             f"{', '.join(map(str, READS))}")
        pos = 5
        (klen,) = struct.unpack_from("<B", blob, pos)
        pos += 1
        key = blob[pos: pos + klen].decode("utf-8")
        pos += klen
        weights = blob[pos: pos + 8]
        pos += 8
        (rank,) = struct.unpack_from("<B", blob, pos)
        pos += 1
        *shape, levels = struct.unpack_from(f"<{rank}HH", blob, pos)
        pos += 2 * rank + 2
        batch, rows = struct.unpack_from("<HI", blob, pos)
        pos += 6
        checksum = blob[pos: pos + 8]
        pos += 8
        (elen,) = struct.unpack_from("<H", blob, pos)
        pos += 2
        extras = json.loads(blob[pos: pos + elen]) if elen else {}
        pos += elen
        if (len(blob) - pos) % 4:
            raise CodecError(f"{name}: truncated (the payload is not whole 32-bit words)")
        words = np.frombuffer(blob[pos:], dtype="<u4").astype(np.uint32)
        header = Header(KINDS[kind], key, weights, tuple(shape), levels, batch, rows, checksum, extras,
                        version)
        _check_header(header, name)
        return header, words
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as e:
        raise CodecError(f"{name}: damaged .arz header ({e})") from None
