"""Sound in and out: playback, recording, WAV export and audio-file loading.

This is the only module that imports ``sounddevice`` (the PortAudio binding),
and only when a sound is played or recorded, so everything else — saving a
WAV, reading files, the whole core — works on a machine without PortAudio
or without a sound device. When playback cannot work, :class:`AudioUnavailable`
says why and what to install.

Waves are float arrays in [-1, 1] (numpy or torch), mono.
"""
from __future__ import annotations

import math
import wave as wavelib
from pathlib import Path

import numpy as np

PORTAUDIO_HINT = ("install the PortAudio library (Debian/Ubuntu: `sudo apt install libportaudio2`; "
                  "macOS: `brew install portaudio`)")
DEVICE_HINT = ("connect an audio device or start a sound server (PulseAudio or PipeWire; "
               "on a headless Linux box `pulseaudio --start` gives a virtual one)")
SOUNDFILE_HINT = "install the Python package `soundfile` (pip install soundfile) to read FLAC and OGG"


class AudioUnavailable(RuntimeError):
    """Playback or recording cannot work here; the message says what to install."""


class AudioFileError(ValueError):
    """A file that is not readable audio; the message names the file."""


def _sounddevice():
    try:
        import sounddevice
    except OSError as e:  # the binding is installed but the PortAudio library is not
        raise AudioUnavailable(f"no sound: {e}; {PORTAUDIO_HINT}") from None
    except ImportError:
        raise AudioUnavailable("no sound: the Python package `sounddevice` is not installed "
                               f"(pip install sounddevice), and {PORTAUDIO_HINT}") from None
    return sounddevice


def _device(sd, kind: str):
    try:
        sd.query_devices(kind=kind)
    except Exception as e:  # PortAudio reports a missing device as a generic error
        raise AudioUnavailable(f"no sound {kind} device ({e}); {DEVICE_HINT}") from None


def availability() -> tuple[bool, str]:
    """(True, device name) when playback can work, else (False, what to install)."""
    try:
        sd = _sounddevice()
        _device(sd, "output")
        return True, str(sd.query_devices(kind="output")["name"])
    except AudioUnavailable as e:
        return False, str(e)


def rescan_devices() -> None:
    """Make PortAudio enumerate devices again (it does so once, at import):
    after a sound server starts or a device is plugged in."""
    try:
        sd = _sounddevice()
    except AudioUnavailable:
        return
    sd._terminate()
    sd._initialize()


def playing() -> bool:
    """Whether a sound started by :func:`play` (or a :class:`StreamPlayer`) is still playing."""
    if _STREAM is not None and _STREAM.active:
        return True
    try:
        stream = _sounddevice().get_stream()
    except (AudioUnavailable, RuntimeError):  # RuntimeError: nothing was ever played
        return False
    return bool(stream.active)


def _mono_float(wave) -> np.ndarray:
    a = np.asarray(wave.detach().cpu() if hasattr(wave, "detach") else wave, dtype=np.float32)
    if a.ndim == 2:  # (frames, channels) -> mono
        a = a.mean(axis=1)
    if a.ndim != 1:
        raise ValueError(f"a wave must be 1-D (frames,) or (frames, channels), got shape {a.shape}")
    return np.clip(a, -1.0, 1.0)


def play(wave, rate: int, blocking: bool = False, loop: bool = False) -> None:
    """Play a mono float wave at ``rate`` Hz (returns at once unless ``blocking``);
    ``loop`` repeats it until :func:`stop`."""
    sd = _sounddevice()
    _device(sd, "output")
    sd.play(_mono_float(wave), int(rate), blocking=blocking and not loop, loop=loop)


def stop() -> None:
    """Stop whatever :func:`play` or a :class:`StreamPlayer` started; a no-op when sound
    is unavailable."""
    if _STREAM is not None:
        _STREAM.stop()
    try:
        _sounddevice().stop()
    except AudioUnavailable:
        pass


_STREAM = None  # the StreamPlayer playing now, if any


class StreamPlayer:
    """Plays a wave while it is still being made.

    ``source(start, frames)`` returns ``(samples, finished)``: up to ``frames``
    float samples from position ``start`` (fewer when generation has not got
    there yet) and whether no more will come. PortAudio's callback asks for a
    block every few milliseconds; when generation falls behind, silence plays
    until ``rebuffer`` seconds are ready again: a slow generator makes a few
    pauses, never skips or clicks."""

    def __init__(self, source, rate: int, blocksize: int = 256, rebuffer: float = 0.2,
                 prebuffer: float = 0.0):
        self.source, self.rate, self.blocksize = source, int(rate), int(blocksize)
        self.rebuffer = max(1, int(rebuffer * rate))  # after an underrun, wait for this much
        self.position = 0  # samples handed to the device so far
        self.underruns = 0
        self.started_at: float | None = None  # time.monotonic() of the first sample handed over
        # opened before the sound exists (the device is ready when it comes): wait for prebuffer
        self._waiting = prebuffer > 0
        if self._waiting:
            self.rebuffer_first = max(1, int(prebuffer * rate))
        self._stream = None

    def _callback(self, outdata, frames, _time, _status):
        if self._waiting:  # one longer pause instead of many clicks: wait until ahead again
            need = self.rebuffer if self.position else getattr(self, "rebuffer_first", self.rebuffer)
            ahead, finished = self.source(self.position, need)
            if len(ahead) < need and not finished:
                outdata[:, 0] = 0.0
                return
            self._waiting = False
        samples, finished = self.source(self.position, frames)
        got = len(samples)
        if got and self.started_at is None:
            import time

            self.started_at = time.monotonic()
        outdata[:got, 0] = np.clip(samples, -1.0, 1.0)
        outdata[got:, 0] = 0.0
        self.position += got
        if got < frames:
            if finished:
                raise self._sd.CallbackStop
            self.underruns += 1
            self._waiting = True

    def start(self) -> StreamPlayer:
        global _STREAM
        sd = _sounddevice()
        _device(sd, "output")
        stop()
        self._sd = sd
        try:
            self._stream = sd.OutputStream(samplerate=self.rate, channels=1, dtype="float32",
                                           blocksize=self.blocksize, latency="low", callback=self._callback)
            self._stream.start()
        except sd.PortAudioError as e:  # no usable output device: a message, not a crash
            self._stream = None
            raise AudioUnavailable(f"cannot play sound here ({e}); the clip is still generated") from None
        _STREAM = self
        return self

    @property
    def active(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    def stop(self) -> None:
        global _STREAM
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except self._sd.PortAudioError:  # a stream that ended by itself: nothing to stop
                stream = None
        if _STREAM is self:
            _STREAM = None


def record(seconds: float, rate: int) -> np.ndarray:
    """Record ``seconds`` of mono audio from the default input: float32 (frames,)."""
    sd = _sounddevice()
    _device(sd, "input")
    frames = sd.rec(int(round(seconds * rate)), samplerate=int(rate), channels=1, dtype="float32")
    sd.wait()
    return frames[:, 0].copy()


def save_wav(path, wave, rate: int) -> Path:
    """Write 16-bit mono PCM; needs nothing beyond the standard library."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.round(_mono_float(wave) * 32767.0)).astype("<i2")
    with wavelib.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return path


# a user's sound file must declare a rate in this range and last at most this long
MIN_FILE_RATE, MAX_FILE_RATE = 1000, 384_000
MAX_AUDIO_SECONDS = 600.0


def _check_declared(path: Path, rate, frames, channels) -> None:
    """Refuse, from the header alone, a file whose rate or length would make resampling or
    reading it explode (a WAV declaring 1 Hz becomes 80 M samples at 8 kHz)."""
    if not MIN_FILE_RATE <= rate <= MAX_FILE_RATE:
        raise AudioFileError(f"{path}: sample rate {rate} Hz is outside {MIN_FILE_RATE}..{MAX_FILE_RATE} Hz")
    if frames > MAX_AUDIO_SECONDS * rate:
        raise AudioFileError(f"{path}: {frames / rate:,.0f} s of audio, over the limit of "
                             f"{MAX_AUDIO_SECONDS:.0f} s")
    if not 1 <= channels <= 64:
        raise AudioFileError(f"{path}: {channels} channels")


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with wavelib.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            _check_declared(path, rate, w.getnframes(), channels)
            raw = w.readframes(w.getnframes())
    except (wavelib.Error, EOFError) as e:
        raise AudioFileError(f"{path}: not a PCM WAV file the standard library can read ({e})") from None
    if width == 1:  # 8-bit WAV is unsigned
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:  # 24-bit: widen each little-endian triple to int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608.0
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise AudioFileError(f"{path}: unsupported sample width of {width} bytes")
    return data.reshape(-1, channels), rate


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except (ImportError, OSError):
        raise AudioFileError(f"{path}: cannot read {path.suffix} files here; {SOUNDFILE_HINT}") from None
    try:
        info = soundfile.info(str(path))
    except Exception as e:
        raise AudioFileError(f"{path}: not readable audio ({e})") from None
    _check_declared(path, info.samplerate, info.frames, info.channels)
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises its own error types for damaged files
        raise AudioFileError(f"{path}: not readable audio ({e})") from None
    return data, rate


def resample(wave: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited polyphase resampling (scipy), mono float32."""
    if rate_in == rate_out:
        return wave.astype(np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(wave, rate_out // g, rate_in // g).astype(np.float32)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def load_audio(path, rate: int) -> np.ndarray:
    """Any WAV (stdlib) or FLAC/OGG (``soundfile``) file -> mono float32 at ``rate`` Hz.

    Raises :class:`AudioFileError` naming the file when it is not audio, is
    empty, or its format needs a package that is missing."""
    import stat

    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        raise AudioFileError(f"{path}: no such file") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioFileError(f"{path}: not a regular file (a folder, device, FIFO or socket)")
    if st.st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".wav":
        data, file_rate = _read_wav(path)
    elif suffix in (".flac", ".ogg"):
        data, file_rate = _read_soundfile(path)
    else:
        raise AudioFileError(f"{path}: not an audio file (expected {', '.join(AUDIO_SUFFIXES)})")
    if data.size == 0:
        raise AudioFileError(f"{path}: contains no audio frames")
    return np.clip(resample(data.mean(axis=1), file_rate, rate), -1.0, 1.0)
