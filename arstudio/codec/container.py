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
        return Header(KINDS[kind], key, weights, tuple(shape), levels, batch, rows, checksum, extras,
                      version), words
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as e:
        raise CodecError(f"{name}: damaged .arz header ({e})") from None
