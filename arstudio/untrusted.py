"""Reading a file that a user, or a stranger's file, names: it must be a regular file of
bounded size. A device such as /dev/zero never ends and a FIFO blocks, so neither is ever
read. Images are sized from their header before any pixel is decoded. No heavy imports
(Pillow only inside :func:`open_image`).

Every refusal is a :class:`FileRefused`. It is an ``OSError``, so callers that already
say "cannot read X (why)" keep doing so. Its message names the path.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SMALL_FILE_BYTES = 1 << 20  # a recipe, lesson or session (TOML): 1 MiB
MAX_IMAGE_FILE_BYTES = 256 << 20  # one image file on disk
MAX_IMAGE_PIXELS = 1 << 26  # one image: 64 M pixels (8192×8192), as an image folder allows
MAX_TEXT_FILE_BYTES = 32 << 20  # a text file to code or read as a corpus (32 MiB)
MAX_BLOB_BYTES = 1 << 30  # any other file read whole (an .arz file): 1 GiB


class FileRefused(OSError):
    """A path that is not a regular file, cannot be opened, or is over its size limit."""

    def __str__(self) -> str:  # the message alone, never "[Errno None]"
        return str(self.args[0]) if self.args else "refused"


def _check_stat(path: Path, st: os.stat_result, limit: int) -> int:
    if stat.S_ISDIR(st.st_mode):
        raise FileRefused(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"{path}: not a regular file (a device, FIFO or socket); refused")
    if st.st_size > limit:
        raise FileRefused(f"{path}: {st.st_size:,} bytes, over the limit of {limit:,}")
    return st.st_size


def check_file(path, limit: int) -> int:
    """``path`` is a regular file of at most ``limit`` bytes; returns its size."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise FileRefused(f"{path}: cannot read ({e.strerror or e})") from None
    return _check_stat(path, st, limit)


def read_bytes(path, limit: int) -> bytes:
    """The whole file, when it is a regular file of at most ``limit`` bytes. It is opened
    without blocking and checked on the open descriptor, so a FIFO swapped in between a
    check and the open is still refused."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if os.path.isdir(path):
            raise FileRefused(f"{path}: is a folder, not a file") from None
        raise FileRefused(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        _check_stat(path, os.fstat(fd), limit)
    except FileRefused:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise FileRefused(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > limit:  # it grew after the check
        raise FileRefused(f"{path}: over the limit of {limit:,} bytes")
    return data


def read_text(path, limit: int, errors: str = "strict") -> str:
    """A UTF-8 text file of at most ``limit`` bytes. Text that is not UTF-8 is a
    ``FileRefused`` that names the byte, unless ``errors`` says to replace it."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise FileRefused(f"{path}: not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})") from None


def open_image(path):
    """A Pillow image opened from a bounded regular file, whose size has been checked from
    its header (at most ``MAX_IMAGE_PIXELS``) before any pixel is decoded. Use it as a
    context manager, as ``Image.open``. Anything unreadable is a ``FileRefused``."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    blob = read_bytes(path, MAX_IMAGE_FILE_BYTES)
    try:
        with warnings.catch_warnings():
            # our own limit applies below; Pillow's bomb warning would be a second message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(blob))
    except Image.DecompressionBombError:
        raise FileRefused(f"{path}: the image's header declares over {MAX_IMAGE_PIXELS:,} pixels; refused") from None
    except UnidentifiedImageError:
        raise FileRefused(f"{path}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise FileRefused(f"{path}: not an image Pillow can read ({e})") from None
    w, h = im.size
    if w * h > MAX_IMAGE_PIXELS or w < 1 or h < 1:
        im.close()
        raise FileRefused(f"{path}: {w}×{h} pixels, over the limit of {MAX_IMAGE_PIXELS:,}"
                          if w * h > MAX_IMAGE_PIXELS else f"{path}: an image of {w}×{h} pixels")
    return im
