"""The audio API for real: sound goes into a PulseAudio null sink and is
recorded back from its monitor. Skips, saying why, where PulseAudio or
PortAudio is missing (CI installs pulseaudio, pulseaudio-utils, libportaudio2)."""
import os
import shutil
import subprocess
import time
import wave

import numpy as np
import pytest

from arstudio import audio

RATE = 16000
SINK = "arstudio_test_sink"


def dominant_frequency(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1.0 / rate)[spectrum.argmax()]


def tone(freq, seconds, rate=RATE, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.fixture(scope="module")
def null_sink(tmp_path_factory):
    """A private PulseAudio server whose default sink is a null sink."""
    missing = [p for p in ("pulseaudio", "pactl", "parecord", "paplay") if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt install pulseaudio pulseaudio-utils)")
    runtime = tmp_path_factory.mktemp("pulse")
    os.chmod(runtime, 0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime)}
    old = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "HOME", "PULSE_SERVER")}
    started = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
         "--load=module-native-protocol-unix", f"--load=module-null-sink sink_name={SINK}"],
        env=env, capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"pulseaudio would not start: {started.stderr.strip()[-300:]}")
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", SINK], env=env, check=True)
    subprocess.run(["pactl", "set-default-source", f"{SINK}.monitor"], env=env, check=True)
    os.environ.update({"XDG_RUNTIME_DIR": env["XDG_RUNTIME_DIR"], "HOME": env["HOME"]})
    os.environ.pop("PULSE_SERVER", None)
    audio.rescan_devices()  # PortAudio enumerates devices once: rescan with the server up
    ok, why = audio.availability()
    if not ok:
        subprocess.run(["pulseaudio", "--kill"], env=env)
        pytest.skip(why)
    yield env
    audio.stop()
    subprocess.run(["pulseaudio", "--kill"], env=env)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_play_reaches_the_sink_at_the_right_pitch(null_sink, tmp_path):
    out = tmp_path / "monitor.wav"
    rec = subprocess.Popen(["parecord", f"--device={SINK}.monitor", f"--rate={RATE}", "--channels=1",
                            "--format=s16le", "--file-format=wav", str(out)], env=null_sink)
    try:
        time.sleep(0.4)
        audio.play(tone(440.0, 1.0), RATE, blocking=True)
        time.sleep(0.3)
    finally:
        rec.terminate()
        rec.wait(timeout=10)
    heard = audio.load_audio(out, RATE)
    loud = heard[np.abs(heard) > 0.05]
    assert len(loud) > 0.5 * RATE, f"only {len(loud)} loud frames came back"
    assert abs(dominant_frequency(heard, RATE) - 440.0) < 5.0


def test_record_hears_what_is_played(null_sink, tmp_path):
    src = audio.save_wav(tmp_path / "tone.wav", tone(660.0, 2.0), RATE)
    player = subprocess.Popen(["paplay", f"--device={SINK}", str(src)], env=null_sink)
    try:
        time.sleep(0.3)
        got = audio.record(1.0, RATE)
    finally:
        player.wait(timeout=10)
    assert got.shape == (RATE,) and got.dtype == np.float32
    assert np.abs(got).max() > 0.1, "recorded silence"
    assert abs(dominant_frequency(got, RATE) - 660.0) < 5.0


def test_stop_cuts_playback_short(null_sink):
    audio.play(tone(300.0, 5.0), RATE)
    time.sleep(0.2)
    assert audio.playing()
    start = time.monotonic()
    audio.stop()
    assert not audio.playing() and time.monotonic() - start < 2.0


def test_without_portaudio_play_explains_and_saving_works(without_portaudio, tmp_path):
    with pytest.raises(audio.AudioUnavailable, match="libportaudio2"):
        audio.play(tone(440.0, 0.1), RATE)
    with pytest.raises(audio.AudioUnavailable, match="libportaudio2"):
        audio.record(0.1, RATE)
    ok, why = audio.availability()
    assert not ok and "libportaudio2" in why
    audio.stop()  # never raises
    path = audio.save_wav(tmp_path / "x.wav", tone(440.0, 0.25), RATE)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (RATE, 1, RATE // 4)


def write_pcm(path, frames, rate, width):
    """frames: float (n, channels) -> PCM WAV of ``width`` bytes per sample."""
    if width == 1:
        data = (np.round(frames * 127) + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(frames * 8388607).astype(np.int32).reshape(-1)
        data = np.stack([ints & 255, (ints >> 8) & 255, (ints >> 16) & 255], 1).astype(np.uint8).tobytes()
    else:
        data = np.round(frames * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


@pytest.mark.parametrize("rate,channels,width", [(44100, 2, 3), (8000, 1, 1), (22050, 2, 2), (48000, 1, 4)])
def test_load_audio_any_rate_channels_depth(tmp_path, rate, channels, width):
    t = np.arange(rate // 2) / rate
    left = 0.6 * np.sin(2 * np.pi * 500 * t)
    frames = np.stack([left] * channels, 1)
    path = tmp_path / "a.wav"
    write_pcm(path, frames, rate, width)
    x = audio.load_audio(path, RATE)
    assert x.ndim == 1 and abs(len(x) - RATE // 2) <= 1
    assert abs(dominant_frequency(x, RATE) - 500.0) < 5.0
    assert abs(np.abs(x).max() - 0.6) < 0.05


def test_load_audio_names_bad_files(tmp_path):
    empty, junk = tmp_path / "empty.wav", tmp_path / "junk.wav"
    empty.write_bytes(b"")
    junk.write_bytes(b"not a riff header at all")
    for path, why in ((empty, "empty"), (junk, "not a PCM WAV")):
        with pytest.raises(audio.AudioFileError, match=why) as err:
            audio.load_audio(path, RATE)
        assert str(path) in str(err.value)
    with pytest.raises(audio.AudioFileError, match="not an audio file"):
        audio.load_audio(tmp_path / "notes.txt" if (tmp_path / "notes.txt").write_text("x") else None, RATE)
