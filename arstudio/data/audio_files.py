"""A user's folder of WAV/FLAC/OGG files as mu-law chunks for WaveNet (``audio:PATH``).

Files of any rate, channel count or bit depth become mono at the model's rate
(``arstudio.audio.load_audio`` resamples). A file that is not audio, is empty
or needs a missing package is skipped with a warning that names it and says
why; the reasons are also kept in ``extras["skipped"]``. Chunks are cut from
each file in turn and split 80/10/10 in order.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from arstudio.audio import AUDIO_SUFFIXES, AudioFileError, load_audio
from arstudio.data.registry import DataError, Dataset, register_prefix
from arstudio.distributions import mu_law_encode
from arstudio.spec import DataSpec


def load_audio_folder(folder, rate: int = 8000, chunk: int = 2048, levels: int = 256) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    chunks, skipped = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            wave = load_audio(path, rate)
        except AudioFileError as e:
            skipped.append(str(e))
            warnings.warn(f"skipped {e}", stacklevel=2)
            continue
        n = len(wave) // chunk
        if n == 0:
            why = f"{path}: shorter than one {chunk}-sample chunk at {rate} Hz"
            skipped.append(why)
            warnings.warn(f"skipped {why}", stacklevel=2)
            continue
        chunks.append(wave[: n * chunk].reshape(n, chunk))
    if not chunks:
        raise DataError(f"{folder}: no usable audio files ({', '.join(AUDIO_SUFFIXES)}); "
                        + ("; ".join(skipped) if skipped else "the folder is empty"))
    codes = mu_law_encode(torch.from_numpy(np.concatenate(chunks)), levels)  # (N, chunk)
    n = len(codes)
    a, b = max(1, int(0.8 * n)), max(1, int(0.9 * n))
    return Dataset(f"audio:{folder}", DataSpec((chunk,), levels), codes[:a], codes[a:b], codes[b:],
                   "the user's own recordings", description=f"audio files in {folder}",
                   extras={"sample_rate": rate, "encoding": "mu-law", "skipped": skipped})


@register_prefix("audio", description="a folder of WAV/FLAC/OGG files at 8 kHz, 2048-sample chunks")
def _audio_prefix(path: str) -> Dataset:
    return load_audio_folder(path, rate=8000, chunk=2048)


@register_prefix("audio-16k", description="the same at 16 kHz, 4096-sample chunks")
def _audio_16k_prefix(path: str) -> Dataset:
    return load_audio_folder(path, rate=16000, chunk=4096)
