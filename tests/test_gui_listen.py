"""The Listen tab driven for real (pytest-qt, offscreen): the bundled WaveNet
generates while the waveform fills, the clip is saved and read back, played
into a PulseAudio null sink and heard on its monitor, primed from a file and
from the microphone; without PortAudio the sound buttons say why."""
from __future__ import annotations

import signal
import subprocess
import time
import wave

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from test_audio import SINK, dominant_frequency, null_sink, tone  # noqa: F401 (fixture)

from arstudio import audio
from arstudio.checkpoint import load_checkpoint
from arstudio.paths import BUNDLED_MODELS
from arstudio.sampling.audio_stream import wave_to_codes

WAVENET = BUNDLED_MODELS / "wavenet-tones.safetensors"
RATE = 8000  # the bundled tones' sample rate
# long enough that the fast path (tens of thousands of samples a second) spans several ~30 Hz
# redraws on an idle machine: 2,000 samples were done within one redraw there
FILL_LENGTH = 2 * RATE


def make_panel(qtbot):
    from arstudio.gui.qt_listen import ListenPanel
    from arstudio.gui.state import StudioState

    state = StudioState()
    panel = ListenPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1100, 650)
    panel.show()
    qtbot.waitUntil(lambda: bool(panel.models), timeout=60000)
    index = next(i for i, m in enumerate(panel.models) if m.path.name == WAVENET.name)
    panel.model_box.setCurrentIndex(index)
    return panel, state


def generate(qtbot, panel, length, timeout=30000):
    panel.seconds.setValue(length / panel.current().rate)
    assert panel.length_samples() == length
    seen = []  # curve lengths the timer drew while the worker ran

    def finished():
        seen.append(len(panel.curve.xData if panel.curve.xData is not None else []))
        return panel.clip is not None

    with qtbot.waitSignal(panel.clip_ready, timeout=timeout):
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(finished, timeout=timeout)
    return seen


def shot(panel, tmp_path, name):
    path = tmp_path / name
    panel.grab().save(str(path))
    return path


def test_only_sound_models_are_listed_with_their_labels(qtbot):
    panel, state = make_panel(qtbot)
    assert panel.models and all(m.rate > 0 and m.length > 0 for m in panel.models)
    names = {m.path.name for m in panel.models}
    assert WAVENET.name in names
    assert not any(n.startswith(("pixelcnn", "rnn-arm-text", "rnade")) for n in names)
    assert panel.label_box.isEnabled() and panel.label_box.itemText(1) == "A3"
    # a checkpoint the studio opens elsewhere shows up only if it is sound
    before = len(panel.models)
    image_model = BUNDLED_MODELS / "pixelcnn-digits.safetensors"
    with qtbot.waitSignal(panel.offer_judged, timeout=30000) as judged:  # the worker has looked at it
        state.set("checkpoint", image_model)
    assert judged.args == [str(image_model), False]
    assert len(panel.models) == before
    with qtbot.waitSignal(panel.offer_judged, timeout=30000) as judged:  # and says yes to a sound model
        state.set("checkpoint", WAVENET)
    assert judged.args == [str(WAVENET), True] and len(panel.models) == before  # listed once


def test_any_sequence_model_on_sound_data_appears_when_the_studio_opens_it(qtbot, tmp_path):
    """Registry and data driven: a tiny RNN on 16 kHz tones, whose checkpoint names only
    its data set (the sample rate comes from Dataset.extras), becomes playable sound."""
    from arstudio.checkpoint import save_checkpoint
    from arstudio.data.registry import DATASETS, load_all
    from arstudio.models.registry import build_model, get_model_info

    load_all()
    torch.manual_seed(0)
    spec = DATASETS["tones-16k"].spec
    model = build_model("rnn-arm", spec, **get_model_info("rnn-arm").presets["tiny"])
    path = save_checkpoint(model, tmp_path / "run" / "final.safetensors", {"dataset": "tones-16k"})
    panel, state = make_panel(qtbot)
    state.set("checkpoint", path)
    qtbot.waitUntil(lambda: panel.current() is not None and panel.current().path == path, timeout=20000)
    sound = panel.current()
    assert (sound.model, sound.rate, sound.length, sound.encoding) == ("rnn-arm", 16000, 4096, "mu-law")
    assert sound.any_length and panel.seconds.maximum() == 600  # any length: no training-length cap
    assert not panel.label_box.isEnabled() and sound.label_names == ()  # rnn-arm takes no labels
    generate(qtbot, panel, 320)
    xs, ys = panel.curve.xData, panel.curve.yData
    assert len(ys) == 320 and abs(xs[-1] - 319 / 16000) < 1e-9


def test_generate_fills_the_waveform_as_it_goes_then_save_and_read_back(qtbot, tmp_path, monkeypatch):
    panel, _ = make_panel(qtbot)
    panel.seed.setValue(3)
    panel.temperature.setValue(1.0)
    seen = generate(qtbot, panel, FILL_LENGTH)
    xs, ys = panel.curve.xData, panel.curve.yData
    assert len(xs) == len(ys) == FILL_LENGTH and abs(xs[-1] - (FILL_LENGTH - 1) / RATE) < 1e-9
    assert any(0 < n < FILL_LENGTH for n in seen), f"the waveform never showed a partial clip: {seen[:20]}"
    assert sorted(seen) == seen, "the drawn clip only grows"
    assert np.std(panel.clip) > 0.01 and np.abs(panel.clip).max() <= 1.0
    # the same seed and label through the shared sampler give the very same codes (a prefix, for time)
    model = load_checkpoint(WAVENET)
    steps = model.sample_steps(1, generator=torch.Generator().manual_seed(3), label=torch.tensor([0]))
    for s in steps:
        if s.step == 599:
            break
    assert np.array_equal(wave_to_codes(panel.clip[:600], panel.current()), s.x[0, :600].numpy())
    image = panel.spec_image.image
    assert image is not None and image.shape[1] == 129 and image.shape[0] > 20
    shot(panel, tmp_path, "listen.png")

    target = tmp_path / "out" / "clip.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "WAV (*.wav)"))
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    with wave.open(str(target)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (RATE, 1, 2, FILL_LENGTH)
    back = audio.load_audio(target, RATE)
    assert np.abs(back - panel.clip).max() < 1.0 / 16000


def test_prime_from_a_file_is_kept_and_continued(qtbot, tmp_path, monkeypatch):
    panel, _ = make_panel(qtbot)
    src = audio.save_wav(tmp_path / "a.wav", tone(262.0, 0.2, rate=16000), 16000)  # resampled to 8 kHz
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(src), "Audio"))
    qtbot.mouseClick(panel.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.prime is not None, timeout=30000)
    assert len(panel.prime) == 1600 and panel.use_prime.isChecked()
    panel.prime_length.setValue(400)
    generate(qtbot, panel, 600)
    codes = wave_to_codes(panel.clip, panel.current())
    assert np.array_equal(codes[:400], wave_to_codes(panel.prime[:400], panel.current()))
    assert len(panel.clip) == 600 and panel.prime_line.isVisible()
    assert abs(panel.prime_line.value() - 400 / RATE) < 1e-9


def test_without_portaudio_sound_buttons_are_disabled_and_say_why(qtbot, without_portaudio):
    panel, _ = make_panel(qtbot)
    assert not panel.sound_ok
    for button in (panel.play_button, panel.stop_button, panel.record_button, panel.loop):
        assert not button.isEnabled() and "libportaudio2" in button.toolTip()
    assert "libportaudio2" in panel.sound_label.text()
    assert panel.generate_button.isEnabled()
    panel.play()  # a direct call (e.g. a shortcut) explains instead of crashing
    panel.stop()


def record_monitor(env, path):
    """parecord on the sink's monitor, returned once audio is flowing into the file
    (the first stream on a fresh server can take a second or more to start)."""
    rec = subprocess.Popen(["parecord", f"--device={SINK}.monitor", f"--rate={RATE}", "--channels=1",
                            "--format=s16le", "--file-format=wav", "--latency-msec=20", str(path)], env=env)
    deadline = time.monotonic() + 15
    while not (path.is_file() and path.stat().st_size > 44 + 2 * RATE // 10):  # 0.1 s past the header
        assert rec.poll() is None and time.monotonic() < deadline, "parecord recorded nothing"
        time.sleep(0.05)
    return rec


def stop_recording(rec):
    rec.send_signal(signal.SIGINT)  # as Ctrl+C: parecord writes out what it has and closes the file
    rec.wait(timeout=10)


def test_play_and_loop_into_a_null_sink_are_heard_on_its_monitor(qtbot, null_sink, tmp_path):  # noqa: F811
    panel, _ = make_panel(qtbot)
    assert panel.check_sound(), panel.sound_why
    panel.seed.setValue(5)
    panel.stream_play.setChecked(False)  # this test is about Play and Loop
    generate(qtbot, panel, 1024)
    clip = panel.clip
    assert panel.play_button.isEnabled()
    out = tmp_path / "monitor.wav"
    rec = record_monitor(null_sink, out)
    try:
        panel.loop.setChecked(True)  # 0.128 s looped for ~1.2 s: several copies come back
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
        qtbot.wait(1200)
        assert audio.playing()
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert not audio.playing()
        time.sleep(0.3)
    finally:
        stop_recording(rec)
    heard = audio.load_audio(out, RATE)
    loud = np.flatnonzero(np.abs(heard) > 0.02)
    assert len(loud) and loud[-1] - loud[0] > 2.5 * len(clip), "looping did not repeat the clip"
    # what came out is the clip itself: it lines up with the recording almost exactly
    segment = heard[loud[0]:loud[0] + 3 * len(clip)]
    corr = np.correlate(segment, clip, mode="valid")
    best = int(np.argmax(corr))
    match = segment[best:best + len(clip)]
    r = np.dot(match, clip) / (np.linalg.norm(match) * np.linalg.norm(clip))
    assert r > 0.95, f"the recording does not match the clip (r = {r:.3f})"


def test_a_ten_second_clip_streams_into_playback_within_half_a_second(qtbot, null_sink, tmp_path):  # noqa: F811
    """Generate 10 s with the bundled WaveNet while a real PulseAudio null sink records:
    the clip's first sample reaches the sink less than 0.5 s after Generate is pressed
    (it is played while it is made), and what is heard is the generated clip."""
    panel, _ = make_panel(qtbot)
    assert panel.check_sound(), panel.sound_why
    qtbot.waitUntil(lambda: panel.ready, timeout=60000)  # model loaded, kernel warm: on choosing it
    panel.seed.setValue(2)
    panel.seconds.setValue(10.0)
    assert panel.stream_play.isChecked() and panel.length_samples() == 10 * RATE
    out = tmp_path / "stream.wav"
    rec = record_monitor(null_sink, out)
    try:
        time.sleep(0.3)
        pressed_at = (out.stat().st_size - 44) // 2  # frames recorded when Generate is pressed
        with qtbot.waitSignal(panel.playback_started, timeout=5000):
            clicked = time.monotonic()
            qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.buffer.filled >= 2 * RATE, timeout=30000)
        assert not panel.buffer.done, "10 s were made before 2 s had played: nothing was streamed"
        time.sleep(1.5)
        heard_frames = (out.stat().st_size - 44) // 2
        panel_underruns = panel.player.underruns
        handed = panel.player.started_at - clicked
    finally:
        stop_recording(rec)
    panel.stop()
    qtbot.waitUntil(lambda: panel.clip is not None, timeout=30000)
    assert len(panel.clip) < 10 * RATE or panel.buffer.cancelled  # stopped early: cancelled with it
    wave, _ = panel.buffer.snapshot()
    heard = audio.load_audio(out, RATE)[pressed_at:heard_frames]
    # the clip's first half second, block by block: each loud block is found in the recording,
    # in order (a block may come late after a pause when the machine is too busy to keep up)
    found = []
    for offset in range(0, RATE // 2, 200):
        block = wave[offset:offset + 200]
        if block.std() < 0.02:
            continue
        at, r = best_match(heard, block)
        found.append((offset, at, r))
    assert len(found) >= 5, "the clip's first half second is silent"
    good = [(o, at) for o, at, r in found if r > 0.9]
    assert len(good) >= 0.8 * len(found), f"the recording does not contain the clip: {found}"
    assert [at for _, at in good] == sorted(at for _, at in good), "the clip was heard out of order"
    start = good[0][1] - good[0][0]  # where the clip's sample 0 was heard
    print(f"streaming: first sample handed to the device {handed:.3f} s and heard {start / RATE:.3f} s "
          f"after Generate, {panel_underruns} underruns")
    assert start / RATE < 0.5, f"the clip started {start / RATE:.2f} s after Generate"


def best_match(signal, block):
    """(position, normalised correlation) of the best match of ``block`` in ``signal``."""
    corr = np.correlate(signal, block, mode="valid")
    energy = np.sqrt(np.convolve(signal ** 2, np.ones(len(block)), mode="valid")) + 1e-9
    score = corr / (energy * np.linalg.norm(block))
    at = int(np.argmax(score))
    return at, float(score[at])


def test_record_from_the_microphone_as_a_prime(qtbot, null_sink, tmp_path):  # noqa: F811
    panel, _ = make_panel(qtbot)
    assert panel.check_sound(), panel.sound_why
    src = audio.save_wav(tmp_path / "tone.wav", tone(330.0, 2.0, rate=RATE), RATE)
    player = subprocess.Popen(["paplay", f"--device={SINK}", str(src)], env=null_sink)
    try:
        time.sleep(0.3)
        panel.record_seconds.setValue(0.5)
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.prime is not None, timeout=10000)
    finally:
        player.wait(timeout=10)
    assert len(panel.prime) == RATE // 2 and np.abs(panel.prime).max() > 0.1
    assert abs(dominant_frequency(panel.prime, RATE) - 330.0) < 20.0
    assert "microphone" in panel.prime_label.text()
    panel.prime_length.setValue(256)
    generate(qtbot, panel, 400)
    codes = wave_to_codes(panel.clip, panel.current())
    assert np.array_equal(codes[:256], wave_to_codes(panel.prime[:256], panel.current()))


def test_the_studio_window_has_the_listen_tab_on_the_bundled_wavenet(qtbot, tmp_path, monkeypatch):
    from arstudio.gui.main_window import MainWindow
    from arstudio.gui.qt_samples import SamplesPanel

    monkeypatch.setenv("ARSTUDIO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ARSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setattr(SamplesPanel, "start", lambda self: None)  # the Samples grid is not this test's
    window = MainWindow()
    qtbot.addWidget(window)
    window.studio.close_policy = "stop"
    window.show()
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Listen" in titles and window.studio.listen.models == []  # nothing listed while hidden
    window.tabs.setCurrentIndex(titles.index("Listen"))
    panel = window.studio.listen
    qtbot.waitUntil(lambda: panel.current() is not None, timeout=20000)
    assert panel.current().path.name == WAVENET.name  # the best sound model that plays by itself first
    names = [m.path.name for m in panel.models]
    assert names.index("wavenet-melodies-8k.safetensors") > names.index(WAVENET.name)  # score-driven after


def test_mu_law_view_shows_the_curve_and_generated_codes_against_the_data(qtbot, tmp_path):
    from arstudio.data import load_dataset
    from arstudio.gui.qt_listen import mulaw_curve

    panel, _ = make_panel(qtbot)
    _, ys = panel.mulaw_curve.getData()
    # the companding curve: steep at 0 (fine steps for quiet sounds), code 0 at -1, 255 at +1
    assert ys[0] == 0 and abs(ys[-1] - 255) < 1e-9 and abs(mulaw_curve(np.array([0.0]), 255)[0] - 127.5) < 1e-9
    assert np.diff(ys)[256] > 20 * np.diff(ys)[0]
    qtbot.waitUntil(lambda: panel.data_hist.yData is not None and len(panel.data_hist.yData) == 256,
                    timeout=30000)
    data = np.bincount(load_dataset("tones").train.reshape(-1).numpy(), minlength=256) / load_dataset(
        "tones").train.numel()
    assert np.allclose(panel.data_hist.yData, data)
    generate(qtbot, panel, 2000)
    codes = wave_to_codes(panel.clip, panel.current())
    assert np.allclose(panel.generated_hist, np.bincount(codes, minlength=256) / 2000)
    assert abs(panel.generated_hist.sum() - 1) < 1e-9
    shot(panel, tmp_path, "mulaw.png")


def test_a_melody_model_plays_the_typed_score(qtbot, tmp_path):
    """A WaveNet with local conditioning (here a small untrained one on the melodies'
    spec) gets the typed score as its local series; the clip lasts as long as the score."""
    from arstudio.checkpoint import save_checkpoint
    from arstudio.data import melodies
    from arstudio.models.registry import build_model
    from arstudio.spec import DataSpec

    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((8192,), 256), residual_channels=8, dilation_channels=8,
                        skip_channels=8, layers_per_stack=2, stacks=1, num_labels=3,
                        local_channels=melodies.CHANNELS, local_hop=melodies.HOP)
    path = save_checkpoint(model, tmp_path / "melody" / "final.safetensors",
                           {"dataset": "melodies", "sample_rate": 16000, "label_names": melodies.INSTRUMENTS})
    panel, state = make_panel(qtbot)
    assert not panel.score.isEnabled()  # the tones WaveNet plays no score
    state.set("checkpoint", path)
    qtbot.waitUntil(lambda: panel.current() is not None and panel.current().path == path, timeout=30000)
    assert panel.current().local_channels == melodies.CHANNELS and panel.score.isEnabled()
    panel.stream_play.setChecked(False)
    clips = []
    for score in ("C4 E4:2", "G4 - C5"):
        panel.score.setText(score)
        panel.seed.setValue(1)
        with qtbot.waitSignal(panel.clip_ready, timeout=60000):
            qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        assert len(panel.clip) == 3 * melodies.BEAT * melodies.HOP  # three beats
        clips.append(panel.clip)
    assert not np.array_equal(clips[0], clips[1])  # the score reaches the model
    panel.score.setText("H4")
    panel.generate()
    assert not panel.generating()  # a bad score is refused with a message


def test_a_drawn_piano_roll_writes_the_score_the_model_plays(qtbot, tmp_path):
    """Clicks and drags on the piano roll's pitch × time grid edit the same score the score
    box holds (and typing there redraws the roll); an 8 kHz melody model plays what was drawn."""
    from arstudio.checkpoint import save_checkpoint
    from arstudio.data import melodies
    from arstudio.models.registry import build_model
    from arstudio.spec import DataSpec

    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((4096,), 256), residual_channels=8, dilation_channels=8,
                        skip_channels=8, layers_per_stack=2, stacks=1, num_labels=2,
                        local_channels=melodies.CHANNELS, local_hop=64)
    path = save_checkpoint(model, tmp_path / "melody8k" / "final.safetensors",
                           {"dataset": "melodies-8k", "sample_rate": 8000, "label_names": ["flute", "clarinet"]})
    from arstudio.gui.qt_listen import ListenPanel
    from arstudio.gui.state import StudioState

    state = StudioState()
    panel = ListenPanel(state)  # the bundled models are listed meanwhile: not waited for here
    qtbot.addWidget(panel)
    panel.resize(1100, 650)
    panel.show()
    assert not panel.roll_box.isVisible()  # no melody model chosen yet
    state.set("checkpoint", path)
    qtbot.waitUntil(lambda: panel.current() is not None and panel.current().path == path, timeout=30000)
    roll = panel.roll
    assert panel.roll_box.isVisible() and len(roll.notes) == 7  # the default score, drawn
    qtbot.mouseClick(panel.roll_clear, Qt.MouseButton.LeftButton)
    assert panel.score.text() == "" and roll.notes == []
    C4, D4, E4, G4 = (melodies.NOTE_NAMES.index(n) for n in ("C4", "D4", "E4", "G4"))
    at = lambda col, note: roll.cell_rect(col, note).center()
    left, right = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton

    def drag(note, c0, c1):
        qtbot.mousePress(roll, left, pos=at(c0, note))
        for c in range(min(c0, c1), max(c0, c1) + 1):
            qtbot.mouseMove(roll, at(c if c1 >= c0 else c0 + c1 - c, note))
        qtbot.mouseRelease(roll, left, pos=at(c1, note))

    assert roll.cell_at(at(5, G4)) == (5, G4)
    qtbot.mouseClick(roll, left, pos=at(0, C4))
    assert panel.score.text() == "C4:0.5"
    drag(E4, 1, 4)  # one held note over four half-beats
    assert panel.score.text() == "C4:0.5 E4:2"
    qtbot.mouseClick(roll, left, pos=at(6, G4))
    assert panel.score.text() == "C4:0.5 E4:2 -:0.5 G4:0.5"
    qtbot.mouseClick(roll, left, pos=at(6, G4))  # a click on a note erases it
    assert panel.score.text() == "C4:0.5 E4:2"
    drag(D4, 5, 3)  # drawn right to left over the end of E4: E4 is cut
    assert panel.score.text() == "C4:0.5 E4 D4:1.5"
    qtbot.mouseClick(roll, right, pos=at(4, C4))  # right-click anywhere on a note's columns
    assert panel.score.text() == "C4:0.5 E4"
    assert melodies.parse_score(panel.score.text()) == [(C4, 16), (E4, 32)]

    panel.score.setText("G4:2 - C5")  # typed: the roll follows
    assert roll.notes == [(0, 4, G4), (6, 2, melodies.NOTE_NAMES.index("C5"))]
    panel.score.setText("G4:2 H")  # half-typed: the roll keeps the last melody that parsed
    assert roll.notes == [(0, 4, G4), (6, 2, melodies.NOTE_NAMES.index("C5"))]

    panel.stream_play.setChecked(False)
    clips = []
    for melody in ((C4, 0, 3), (G4, 2, 5)):  # drawn melodies: 2 beats each, different notes
        qtbot.mouseClick(panel.roll_clear, left)
        drag(melody[0], melody[1], melody[2])
        panel.seed.setValue(1)
        with qtbot.waitSignal(panel.clip_ready, timeout=60000):
            qtbot.mouseClick(panel.generate_button, left)
        beats = (melody[2] + 1) / 2
        assert len(panel.clip) == beats * melodies.BEAT * 64  # the drawn score's length at 8 kHz
        clips.append(panel.clip)
    assert not np.array_equal(clips[0][:2048], clips[1][:2048])  # what was drawn reaches the model
    shot(panel, tmp_path, "piano_roll.png")


def test_the_bundled_melody_model_is_heard_playing_the_asked_notes(qtbot, null_sink, tmp_path):  # noqa: F811
    """The bundled melody WaveNet in the Listen tab, a tune the test writes typed in the
    score box, each instrument in turn at the tab's own temperature and seed 0, played into a
    PulseAudio null sink: on the monitor's recording every note's loudest partial lies
    within half a semitone of the asked pitch."""
    from test_melodies import BUNDLED_MELODY, TUNE, assert_plays, melody_default_temperature, note_pitches

    from arstudio.data import melodies
    from arstudio.gui.qt_listen import ListenPanel
    from arstudio.gui.state import StudioState

    path = BUNDLED_MODELS / f"{BUNDLED_MELODY}.safetensors"
    state = StudioState()
    panel = ListenPanel(state)  # the bundled models are listed meanwhile: not waited for here
    qtbot.addWidget(panel)
    panel.resize(1100, 650)
    panel.show()
    assert panel.check_sound(), panel.sound_why
    state.set("checkpoint", path)
    qtbot.waitUntil(lambda: panel.current() is not None and panel.current().path == path, timeout=30000)
    s = panel.current()
    assert s.rate == RATE and s.label_names == ("flute", "clarinet")
    assert panel.temperature.value() == melody_default_temperature()  # what the user is given
    panel.stream_play.setChecked(False)  # the whole clip, then Play: the recording has no gaps
    panel.score.setText(TUNE)
    notes = melodies.parse_score(TUNE)
    for instrument, name in enumerate(s.label_names):
        panel.label_box.setCurrentIndex(instrument + 1)
        panel.seed.setValue(0)
        with qtbot.waitSignal(panel.clip_ready, timeout=60000):
            qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        clip = panel.clip
        assert len(clip) == sum(d for _, d in notes) * 64
        out = tmp_path / f"{name}.wav"
        rec = record_monitor(null_sink, out)
        try:
            qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: not audio.playing(), timeout=15000)
            time.sleep(0.3)
        finally:
            stop_recording(rec)
        heard = audio.load_audio(out, RATE)
        middle = slice(len(clip) // 4, 3 * len(clip) // 4)  # (the device may round off the ends)
        at, r = best_match(heard, clip[middle])
        assert r > 0.9, f"{name}: the recording does not contain the clip (r = {r:.3f})"
        at -= middle.start  # where the clip's first sample was heard
        assert_plays(note_pitches(heard[at:at + len(clip)], notes, RATE, 64), f"{name}, recorded")
