"""Documents as bags of words: a corpus that ships with Python, and user text folders.

``docs`` is the documentation of the Python standard library: the docstrings of a fixed
list of modules (of each module, its public classes, their public methods and its public
functions) and every page of ``pydoc_data.topics`` (the language reference topics that
``help()`` shows), all under the PSF licence, so it is offline on every machine. Its
exact content follows the Python version (the figures in the notes were measured on
CPython 3.11).

How a source text becomes documents, in order:

1. words are runs of two or more letters, lower-cased; English stop words (scikit-learn's
   list) are dropped;
2. sources are shuffled with a fixed seed and cut 80/10/10 into train/val/test by their
   number of words, so every document of one source lies in one split;
3. the vocabulary is the ``VOCAB_SIZE`` most frequent training words (level 0 is the most
   frequent); other words are dropped;
4. each source's remaining words are cut into documents of exactly ``DOC_WORDS`` words (a
   shorter remainder is dropped), and each document's words are shuffled with a fixed seed:
   a document is a bag of words, written in one random order.

A document is then a ``(DOC_WORDS,)`` sequence with ``levels`` = the vocabulary size, and
``extras["vocabulary"]`` maps a level back to its word. ``docs:PATH`` reads a folder of a
user's text files the same way, one source per file.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from arstudio.data.registry import DataError, Dataset, register_dataset, register_prefix
from arstudio.spec import DataSpec

DOC_WORDS = 24  # words per document
VOCAB_SIZE = 1000  # most frequent training words kept
SEED = 0
MODULES = ["abc", "argparse", "array", "ast", "asyncio.events", "asyncio.streams", "asyncio.tasks", "base64", "binascii", "bisect", "bz2", "calendar", "cmath", "codecs", "collections", "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "dis", "doctest", "email.message", "email.utils", "enum", "filecmp", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "graphlib", "gzip", "hashlib", "heapq", "hmac", "html.parser", "http.client", "http.server", "imaplib", "importlib.metadata", "importlib.util", "inspect", "io", "ipaddress", "itertools", "json", "keyword", "linecache", "locale", "logging", "lzma", "mailbox", "math", "mimetypes", "multiprocessing.pool", "netrc", "numbers", "operator", "optparse", "os", "os.path", "pathlib", "pdb", "pickle", "pkgutil", "platform", "plistlib", "poplib", "pprint", "pstats", "pydoc", "queue", "random", "re", "runpy", "sched", "secrets", "selectors", "shelve", "shutil", "smtplib", "socket", "socketserver", "sqlite3", "ssl", "stat", "statistics", "string", "struct", "subprocess", "symtable", "sysconfig", "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize", "trace", "tracemalloc", "traceback", "types", "typing", "unittest.case", "urllib.parse", "urllib.request", "uuid", "warnings", "wave", "weakref", "wsgiref.simple_server", "xml.dom.minidom", "xml.etree.ElementTree", "zipapp", "zipfile", "zlib"]
LICENSE = (f"Python {sys.version_info.major}.{sys.version_info.minor} standard-library docstrings "
           "and pydoc_data topics, PSF License Agreement")
_WORD = re.compile(r"[a-z]{2,}")


def tokenize(text: str) -> list[str]:
    """Lower-cased words of two or more letters, English stop words removed."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def stdlib_sources() -> list[str]:
    """The texts of the ``docs`` corpus, in a fixed order."""
    import warnings

    texts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated aliases (typing.io) warn on access
        for name in MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:  # a module this build of Python lacks (e.g. no ssl)
                continue
            texts.append(module.__doc__ or "")
            for attr, obj in sorted(vars(module).items()):
                if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                    continue
                if inspect.isclass(obj) or inspect.isfunction(obj):
                    texts.append(obj.__doc__ or "")
                if inspect.isclass(obj):
                    texts += [f.__doc__ or "" for n, f in sorted(vars(obj).items())
                              if not n.startswith("_") and inspect.isfunction(f)]
    import pydoc_data.topics

    texts += [pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)]
    return [t for t in texts if t.strip()]


def documents_dataset(name: str, sources: list[str], license: str, description: str,
                      doc_words: int = DOC_WORDS, vocab_size: int = VOCAB_SIZE,
                      seed: int = SEED) -> Dataset:
    """Bags of ``doc_words`` words from ``sources`` (see the module docstring)."""
    tokens = [tokenize(s) for s in sources]
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(tokens), generator=gen).tolist()
    total = sum(len(t) for t in tokens)
    split_of, seen = {}, 0
    for i in order:
        split_of[i] = "train" if seen < 0.8 * total else "val" if seen < 0.9 * total else "test"
        seen += len(tokens[i])
    counts = Counter(w for i in order if split_of[i] == "train" for w in tokens[i])
    vocab = tuple(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab_size])
    if len(vocab) < 2:
        raise DataError(f"{name}: fewer than two distinct words in the training texts")
    index = {w: k for k, w in enumerate(vocab)}
    docs = {"train": [], "val": [], "test": []}
    for i in order:
        ids = [index[w] for w in tokens[i] if w in index]
        for start in range(0, len(ids) - doc_words + 1, doc_words):
            doc = torch.tensor(ids[start:start + doc_words], dtype=torch.long)
            docs[split_of[i]].append(doc[torch.randperm(doc_words, generator=gen)])
    empty = [s for s, d in docs.items() if not d]
    if empty:
        raise DataError(f"{name}: no {doc_words}-word document in the {'/'.join(empty)} split; "
                        f"{len(sources)} texts with {total} words are too few")
    train, val, test = (torch.stack(docs[s]) for s in ("train", "val", "test"))
    return Dataset(name, DataSpec((doc_words,), len(vocab)), train, val, test, license,
                   description=description,
                   extras={"vocabulary": vocab, "encoding": "words", "sources": len(sources)})


def decode_words(doc, vocabulary) -> str:
    return " ".join(vocabulary[int(k)] for k in torch.as_tensor(doc).reshape(-1))


@register_dataset("docs", spec=DataSpec((DOC_WORDS,), VOCAB_SIZE), license=LICENSE,
                  description=f"Python documentation as {DOC_WORDS}-word bags of words, "
                              f"{VOCAB_SIZE}-word vocabulary")
def stdlib_docs():
    sources = stdlib_sources()
    return documents_dataset("docs", sources, LICENSE,
                             f"docstrings of {len(MODULES)} standard-library modules and "
                             "the pydoc topics")


@dataclass(frozen=True)
class DocumentOptions:
    words: int = DOC_WORDS  # words per document
    vocabulary: int = VOCAB_SIZE  # most frequent training words kept

    def __post_init__(self):
        if self.words < 1 or self.vocabulary < 2:
            raise ValueError("words must be >= 1 and vocabulary >= 2")


@register_prefix("docs", options=DocumentOptions,
                 description="a folder of text files as bags of words, one source per file")
def _docs_prefix(path: str, options: dict) -> Dataset:
    opts = DocumentOptions(**options)
    return load_text_folder(path, opts.words, opts.vocabulary)


def load_text_folder(path, doc_words: int = DOC_WORDS, vocab_size: int = VOCAB_SIZE) -> Dataset:
    """A folder of a user's UTF-8 text files, one source per file (``docs:PATH``);
    files in subfolders count too, files that are not text are skipped."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a folder of text files")
    sources = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        try:
            text = f.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.strip():
            sources.append(text)
    if not sources:
        raise DataError(f"{path}: no UTF-8 text files")
    return documents_dataset(f"docs:{path}", sources, "the user's own files",
                             f"{len(sources)} text files of {path.name}", doc_words, vocab_size)
