"""Atomic file writes: a crash mid-save leaves the previous file intact. Shared by
checkpoints, run folders, sample grids and data caches; no heavy imports."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then fsync and rename over ``path``."""
    path = Path(path)
    if path.is_dir():  # before writing it all: the rename over a folder would fail at the end
        raise IsADirectoryError(f"{path}: is a folder, not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid in the name: a reader can tell (and clean) the leftovers of a dead one
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; saved files should read like any other
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
    except OSError:
        pass
