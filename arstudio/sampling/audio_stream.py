"""Sound models as sound: which checkpoints are audio, codes <-> waves, and a
generation loop that streams NumPy chunks into a shared buffer.

No Qt here: the Listen tab (arstudio/gui/qt_listen.py) runs :func:`generate_into`
in a worker thread and reads the :class:`ClipBuffer` from a timer. Only NumPy
crosses the thread boundary; tensors stay in the worker.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SoundModel:
    """A sequence checkpoint whose data has a sample rate (``Dataset.extras``)."""
    path: Path
    model: str
    dataset: str
    rate: int
    length: int  # samples in one generated sequence (the spec's T)
    levels: int | None
    encoding: str  # "mu-law", "linear" (discrete levels spread over [-1, 1]) or "real"
    label_names: tuple[str, ...] = ()  # only for models that take a ``label=`` (``uses_labels``)
    test_bpd: float = float("inf")  # recorded in the checkpoint, when known
    any_length: bool = False  # generation continues past ``length`` (ARModel.any_length)
    local_channels: int = 0  # a local-conditioning series it plays (melodies: the score)

    @property
    def title(self) -> str:
        return f"{self.model} · {self.dataset} · {self.rate} Hz"


def _dataset_extras(name: str) -> dict:
    from arstudio.data import DataError, load_dataset

    try:
        return dict(load_dataset(name).extras)
    except (KeyError, ValueError, OSError, DataError):  # unknown or unreadable: just not a sound model
        return {}


def sound_model(path) -> SoundModel | None:
    """The checkpoint as a sound model, or None when it is not one (not a
    sequence model, or its data set has no sample rate)."""
    from arstudio.checkpoint import CheckpointError, dataset_named_by, read_metadata

    try:
        meta = read_metadata(path)
    except (CheckpointError, OSError):
        return None
    dataset = dataset_named_by(meta) or ""  # a built-in set only: never a file it points at
    spec = meta.get("spec", {})
    if spec.get("modality") != "sequence":
        return None
    extras = {}
    rate = meta.get("sample_rate")
    if rate is None:  # the data set says whether the numbers are sound
        extras = _dataset_extras(dataset)
        rate = rate or extras.get("sample_rate")
    if not rate:
        return None
    levels = spec.get("levels")
    default = "real" if levels is None else ("mu-law" if levels == 256 else "linear")
    encoding = meta.get("encoding") or extras.get("encoding") or default
    names = ()
    from arstudio.checkpoint import load_checkpoint

    try:
        model = load_checkpoint(path, "cpu")
    except CheckpointError:  # metadata fine, weights damaged: not a model to offer
        return None
    if model.uses_labels:  # the trainer asks the same
        names = meta.get("label_names") or extras.get("label_names") or _dataset_extras(
            dataset).get("label_names") or ()
    return SoundModel(Path(path), meta.get("model", "?"), meta.get("dataset", "?"), int(rate),
                      int(spec["shape"][0]), levels, encoding, tuple(names),
                      float((meta.get("metrics") or {}).get("test_bpd") or float("inf")),
                      bool(model.any_length), model.config.local_channels if model.uses_local else 0)


def sound_models(paths) -> list[SoundModel]:
    return [m for m in map(sound_model, paths) if m is not None]


def codes_to_wave(codes: np.ndarray, sound: SoundModel) -> np.ndarray:
    """Model values (T,) -> float32 wave in [-1, 1]."""
    if sound.encoding == "mu-law":
        mu = sound.levels - 1
        y = codes.astype(np.float64) / mu * 2 - 1
        return (np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu).astype(np.float32)
    if sound.encoding == "linear" or sound.levels is not None:
        return (codes.astype(np.float32) * (2.0 / (sound.levels - 1)) - 1.0).astype(np.float32)
    return np.clip(codes, -1, 1).astype(np.float32)


def wave_to_codes(wave: np.ndarray, sound: SoundModel) -> np.ndarray:
    """Float wave in [-1, 1] -> model values (the inverse of :func:`codes_to_wave`)."""
    a = np.clip(np.asarray(wave, dtype=np.float64), -1, 1)
    if sound.levels is None:
        return a.astype(np.float32)
    mu = sound.levels - 1
    if sound.encoding == "mu-law":
        a = np.sign(a) * np.log1p(mu * np.abs(a)) / np.log1p(mu)
    return np.clip(np.floor((a + 1) / 2 * mu + 0.5), 0, mu).astype(np.int64)


def spectrogram(wave: np.ndarray, window: int = 256, hop: int = 64) -> np.ndarray:
    """Log-magnitude STFT (frames, window // 2 + 1) in dB, Hann window."""
    wave = np.asarray(wave, dtype=np.float32)
    if len(wave) < window:
        wave = np.pad(wave, (0, window - len(wave)))
    frames = 1 + (len(wave) - window) // hop
    idx = np.arange(window)[None, :] + hop * np.arange(frames)[:, None]  # (frames, window)
    mag = np.abs(np.fft.rfft(wave[idx] * np.hanning(window).astype(np.float32), axis=1))
    return 20 * np.log10(mag + 1e-4)


@dataclass
class ClipBuffer:
    """The clip being generated: the worker writes, the GUI timer reads (under ``lock``)."""
    length: int
    wave: np.ndarray = None  # (length,) float32
    filled: int = 0  # samples written so far
    done: bool = False
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.wave = np.zeros(self.length, np.float32)

    def snapshot(self) -> tuple[np.ndarray, bool]:
        with self.lock:
            return self.wave[:self.filled].copy(), self.done


_MODELS: dict = {}  # path -> loaded model, for the worker threads that generate sound


def load_sound_model(sound: SoundModel, device: str = "cpu", warm: bool = True):
    """The checkpoint's model, loaded once per path and device (worker threads only).

    ``warm`` also runs the model's generation path for a few samples, so that a
    compiled kernel (WaveNet's) is loaded before the first Generate."""
    import torch

    from arstudio.checkpoint import load_checkpoint

    key = (str(Path(sound.path).resolve()), device, Path(sound.path).stat().st_mtime_ns)
    if key not in _MODELS:
        from arstudio.sampling.sequence import generate

        model = load_checkpoint(sound.path, device)
        if warm:
            generate(model, 4, generator=torch.Generator().manual_seed(0))
        _MODELS.clear()  # one model at a time: the one being listened to
        _MODELS[key] = model
    return _MODELS[key]


def max_length(sound: SoundModel, model=None) -> int | None:
    """Samples one clip may have: None where generation continues past the training length."""
    if model is None:
        model = load_sound_model(sound, warm=False)
    return None if model.any_length else sound.length


def generate_into(buffer: ClipBuffer, sound: SoundModel, temperature: float = 1.0, seed: int = 0,
                  prime: np.ndarray | None = None, label: int | None = None,
                  device: str = "cpu", chunk: int = 256, local=None) -> np.ndarray:
    """Runs in a worker: generates ``buffer.length`` samples (any length for models
    with a finite receptive field or a recurrent state), copying every chunk into the
    buffer as NumPy as soon as it is made (the first small, so playback can start at
    once). The first ``len(prime)`` samples are kept from the prime. ``local`` is a
    local-conditioning series (1, channels, frames) for models that take one."""
    import torch

    from arstudio.sampling.sequence import stream

    model = load_sound_model(sound, device)
    length = buffer.length
    if length > sound.length and not model.any_length:
        length = sound.length
    codes = None
    if prime is not None and len(prime):
        codes = wave_to_codes(prime[:min(len(prime), length - 1)], sound)[None]
    cond = {}
    if model.uses_labels and label is not None:
        cond["label"] = torch.tensor([int(label)])
    if local is not None:
        cond["local"] = torch.as_tensor(local).float()
    generator = torch.Generator().manual_seed(int(seed))
    written = 0
    # small chunks first (playback can start at once), then larger ones (less overhead)
    parts = stream(model, length, 1, temperature, generator, prime=codes, chunk=max(1, int(chunk)),
                   max_chunk=2048, **cond)
    for part in parts:
        if buffer.cancelled:
            break
        part = part[0]
        with buffer.lock:
            buffer.wave[written:written + len(part)] = codes_to_wave(part, sound)
            buffer.filled = written = written + len(part)
    parts.close()
    with buffer.lock:
        buffer.done = True
    return buffer.wave[:written].copy()



def data_code_histogram(sound: SoundModel) -> np.ndarray | None:
    """Share of the training data's samples at each level (None: real values or no data)."""
    from arstudio.data import DataError, load_dataset

    if sound.levels is None:
        return None
    try:
        train = load_dataset(sound.dataset).train
    except (KeyError, ValueError, OSError, DataError):
        return None
    counts = np.bincount(np.asarray(train).reshape(-1).astype(np.int64), minlength=sound.levels)
    return counts[:sound.levels] / max(1, counts.sum())


def model_rate(model) -> int:
    """A sound model's sample rate: recorded in its checkpoint, else its data set's."""
    meta = model.checkpoint_meta
    rate = meta.get("sample_rate") or _dataset_extras(meta.get("dataset", "")).get("sample_rate")
    if not rate:
        raise ValueError(f"{model.registry_name} on {meta.get('dataset', '?')} is not a sound model "
                         "(its data set has no sample rate)")
    return int(rate)


def label_id(model, label) -> int | None:
    """``--label`` as an id: a name from the checkpoint's label names, or a number."""
    if label is None:
        return None
    if not model.uses_labels:
        raise ValueError(f"{model.registry_name} takes no label")
    names = list(model.checkpoint_meta.get("label_names") or [])
    if str(label) in names:
        return names.index(str(label))
    if str(label).isdigit() and int(label) < model.config.num_labels:
        return int(label)
    raise ValueError(f"unknown label {label!r}; labels: {', '.join(names) or f'0..{model.config.num_labels - 1}'}")


def sample_to_wav(model, out, seconds=None, temperature=1.0, generator=None, label=None,
                  notes=None) -> str:
    """``arstudio sample MODEL --seconds S --out x.wav``: generate S seconds (any length
    for models that continue past their training length) and write a 16-bit WAV.
    Returns the line the command prints, with the generation time (start-up excluded)."""
    import time

    import torch

    from arstudio.audio import save_wav
    from arstudio.sampling.sequence import stream

    rate = model_rate(model)
    T = model.spec.shape[0]
    length = T if seconds is None else max(1, round(float(seconds) * rate))
    sound = SoundModel(Path(str(model.checkpoint_meta.get("path", "?"))), model.registry_name,
                       model.checkpoint_meta.get("dataset", "?"), rate, T, model.spec.levels,
                       model.checkpoint_meta.get("encoding") or ("mu-law" if model.spec.levels == 256 else
                                                                 "linear" if model.spec.levels else "real"))
    cond = {}
    lid = label_id(model, label)
    if lid is not None:
        cond["label"] = torch.tensor([lid])
    if notes is not None:  # a melody model plays the score (for as long as it lasts, by default)
        from arstudio.data.melodies import local_series, parse_score, score_seconds

        if not model.uses_local:
            raise ValueError(f"{model.registry_name} takes no score (no local conditioning)")
        if seconds is None:
            length = round(score_seconds(parse_score(notes)) * rate)
        cond["local"] = local_series(notes, length, rate, model.config.local_hop)[None]
    from arstudio.sampling.sequence import generate

    generate(model, 16, 1, generator=torch.Generator().manual_seed(0), **cond)  # start-up: load kernels
    t0 = time.perf_counter()
    codes = np.concatenate([c[0] for c in stream(model, length, 1, temperature, generator,
                                                 chunk=4096, **cond)])
    elapsed = time.perf_counter() - t0
    path = save_wav(out, codes_to_wave(codes, sound), rate)
    audio_s = length / rate
    return (f"{audio_s:.2f} s of audio ({length:,} samples at {rate} Hz) from {model.registry_name} "
            f"in {elapsed:.2f} s ({length / elapsed:,.0f} samples/s, real-time factor "
            f"{elapsed / audio_s:.3f}) -> {path}")
