"""Character-level text: a corpus that ships with Python, and any user text file.

``text`` is the docstrings of a fixed list of pure-Python standard-library
modules (and of their public classes and functions), so it is offline on
every machine; its exact content follows the Python version (the figures in
the notes were measured on CPython 3.11). Characters map to 96 levels:
newline, then printable ASCII 32..126; tabs become spaces and anything else
is dropped. Sequences are contiguous 128-character chunks; the corpus is cut
into train/val/test in order (80/10/10), so no chunk is split across sets.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import torch

from arstudio.data.registry import (
    MAX_TEXT_BYTES,
    DataError,
    Dataset,
    register_dataset,
    register_prefix,
    regular_file,
)
from arstudio.spec import DataSpec

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))  # level i <-> VOCAB[i]
LEVELS = len(VOCAB)  # 96
CHUNK = 128  # characters per sequence
CORPUS_MODULES = ("string", "textwrap", "collections", "functools", "json", "csv", "argparse",
                  "pathlib", "random", "statistics", "fractions", "decimal", "calendar", "heapq",
                  "bisect", "difflib", "shutil", "tempfile", "logging", "pprint", "dataclasses",
                  "enum", "contextlib", "abc", "inspect", "threading", "subprocess", "zipfile",
                  "tarfile", "urllib.parse", "http.client", "email.message", "wave", "datetime")
CORPUS_LICENSE = (f"Python {sys.version_info.major}.{sys.version_info.minor} standard-library "
                  "docstrings, PSF License Agreement")
_INDEX = {ch: i for i, ch in enumerate(VOCAB)}


def encode_text(text: str) -> torch.Tensor:
    """str -> LongTensor of levels; tabs become spaces, other characters are dropped."""
    text = text.replace("\r\n", "\n").replace("\t", " ")
    return torch.tensor([_INDEX[c] for c in text if c in _INDEX], dtype=torch.long)


def decode_text(codes) -> str:
    return "".join(VOCAB[int(c)] for c in torch.as_tensor(codes).reshape(-1))


def stdlib_corpus() -> str:
    """Docstrings of CORPUS_MODULES and their public members, in a fixed order."""
    parts = []
    for name in CORPUS_MODULES:
        module = importlib.import_module(name)
        parts.append(inspect.cleandoc(module.__doc__ or ""))
        for attr, obj in sorted(vars(module).items()):
            if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__doc__:
                parts.append(f"{attr}: {inspect.cleandoc(obj.__doc__)}")
    return "\n\n".join(p for p in parts if p)


def chunked_dataset(name: str, text: str, license: str, description: str,
                    chunk: int = CHUNK) -> Dataset:
    codes = encode_text(text)
    n = len(codes) // chunk
    if n < 10:
        raise DataError(f"{name}: only {len(codes)} usable characters; need at least "
                        f"{10 * chunk} for ten {chunk}-character sequences")
    seqs = codes[: n * chunk].view(n, chunk)
    a, b = int(0.8 * n), int(0.9 * n)
    return Dataset(name, DataSpec((chunk,), LEVELS), seqs[:a], seqs[a:b], seqs[b:], license,
                   description=description, extras={"vocabulary": VOCAB, "encoding": "characters"})


@register_dataset("text", spec=DataSpec((CHUNK,), LEVELS), license=CORPUS_LICENSE,
                  description="Python standard-library docstrings, 96 characters, 128-char chunks")
def stdlib_text():
    return chunked_dataset("text", stdlib_corpus(), CORPUS_LICENSE,
                           f"docstrings of {len(CORPUS_MODULES)} standard-library modules")


@register_prefix("text", description="one UTF-8 text file as 128-character chunks")
def load_text_file(path) -> Dataset:
    """A user's UTF-8 text file as 128-character chunks (``text:PATH``)."""
    path = Path(path)
    regular_file(path, MAX_TEXT_BYTES)  # not /dev/zero, a FIFO, or a file of gigabytes
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    return chunked_dataset(f"text:{path}", text, "the user's own file", f"characters of {path.name}")
