"""Listen tab: generate sound with a sound model and hear it.

Sound models are found from data, not per-model code: any sequence checkpoint
whose data set has a sample rate (``Dataset.extras``; see
arstudio/sampling/audio_stream.py). Generation runs the cached sampler in a
pool thread that streams NumPy chunks into a :class:`ClipBuffer`; a ~30 Hz
timer redraws one waveform curve and the spectrogram from the latest buffer.
Play, stop, loop, record and device errors go through arstudio.audio; with
no sound device those buttons are disabled and say why.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio import audio
from arstudio.gui.workers import run_job
from arstudio.sampling.audio_stream import (
    ClipBuffer,
    SoundModel,
    data_code_histogram,
    generate_into,
    load_sound_model,
    sound_model,
    sound_models,
    spectrogram,
    wave_to_codes,
)

REFRESH_MS = 33  # ~30 Hz redraw while generating
PREBUFFER_S = 0.05  # audio made before streaming playback starts
MAX_SECONDS = 600.0  # the longest clip of a model that continues past its training length
SPEC_WINDOW, SPEC_HOP = 256, 64
NO_LABEL = "(no label)"
NO_PRIME = "no prime: generation starts from silence. A prime's first samples are kept and the model continues them."


def mulaw_curve(amplitude: np.ndarray, mu: int) -> np.ndarray:
    """The code (0..mu) μ-law companding gives an amplitude in [-1, 1] (before rounding)."""
    y = np.sign(amplitude) * np.log1p(mu * np.abs(amplitude)) / np.log1p(mu)
    return (y + 1) / 2 * mu


def _find_bundled_sound_models() -> list[SoundModel]:
    """Runs in a worker: reading the data sets' extras may load them."""
    from arstudio.bundled import list_bundled

    return sound_models(b.path for b in list_bundled())


class ListenPanel(QWidget):
    message = Signal(str)  # status-bar text
    clip_ready = Signal()  # a generated clip is complete
    offer_judged = Signal(str, bool)  # an offered checkpoint was looked at: (path, is it a sound model)
    model_ready = Signal()  # the chosen model is loaded: Generate answers at once
    playback_started = Signal()  # streaming playback of the clip being made began

    def __init__(self, state=None, parent=None):
        super().__init__(parent)
        self.models: list[SoundModel] = []
        self.clip: np.ndarray | None = None  # the last complete clip, float32 in [-1, 1]
        self.prime: np.ndarray | None = None  # a loaded / recorded wave at the model's rate
        self.buffer: ClipBuffer | None = None  # the clip being generated
        self.rate = 1  # sample rate of the clip being generated / shown
        self._drawn = -1
        self.sound_ok, self.sound_why = False, "sound not checked yet"

        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.about = QLabel("looking for sound models…")
        self.about.setWordWrap(True)
        self.label_box = QComboBox()
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0)
        self.seconds = QDoubleSpinBox(minimum=0.002, maximum=MAX_SECONDS, decimals=3, singleStep=1.0,
                                      value=2.0, suffix=" s")
        self.score = QLineEdit("C4 D4 E4 F4 G4:2 E4 C4:2")
        self.score.setToolTip("melody models: notes C4..C5 or - (a rest), each NOTE[:BEATS]; "
                              "one beat = 0.256 s. The clip lasts as long as the score.")
        self.score.setEnabled(False)
        from arstudio.gui.piano_roll import PianoRoll

        self.roll = PianoRoll()  # draws the same score: either one edits the melody
        self.roll.set_score(self.score.text())
        self.roll.changed.connect(self._roll_changed)
        self.score.textChanged.connect(self._score_typed)
        self._from_roll = False
        self.roll_clear = QPushButton("Clear")
        self.roll_clear.clicked.connect(self.roll.clear)
        self.roll_box = QGroupBox("Melody: click or drag notes (half a beat a cell), click a note to erase it")
        roll_row = QHBoxLayout(self.roll_box)
        roll_row.addWidget(self.roll, 1)
        roll_row.addWidget(self.roll_clear, 0, Qt.AlignmentFlag.AlignTop)
        self.roll_box.setVisible(False)
        self.stream_play = QCheckBox("Play while generating")
        self.stream_play.setChecked(True)
        self.ready = False  # the chosen model is loaded and its generation path warmed up
        self.player: audio.StreamPlayer | None = None
        self._spec: np.ndarray | None = None  # spectrogram frames drawn so far
        self.seed = QSpinBox(minimum=0, maximum=1 << 30, value=0)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setShortcut("Ctrl+G")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)

        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.play)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.loop = QCheckBox("Loop")
        self.save_button = QPushButton("Save WAV…")
        self.save_button.clicked.connect(self.save_dialog)
        self.sound_label = QLabel()
        self.sound_label.setWordWrap(True)

        self.use_prime = QCheckBox("Start from the prime")
        self.prime_length = QSpinBox(minimum=1, maximum=1 << 20, value=512, suffix=" samples")
        self.record_seconds = QDoubleSpinBox(minimum=0.05, maximum=10.0, singleStep=0.25, value=0.5,
                                             suffix=" s")
        self.load_button = QPushButton("Load file…")
        self.load_button.clicked.connect(self.load_dialog)
        self.record_button = QPushButton("Record")
        self.record_button.clicked.connect(self.record)
        self.prime_label = QLabel(NO_PRIME)
        self.prime_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow(self.about)
        form.addRow("Pitch / label", self.label_box)
        form.addRow("Temperature", self.temperature)
        form.addRow("Length", self.seconds)
        form.addRow("Score", self.score)
        form.addRow(self.stream_play)
        form.addRow("Seed", self.seed)
        gen_row = QHBoxLayout()
        gen_row.addWidget(self.generate_button)
        gen_row.addWidget(self.cancel_button)
        form.addRow(gen_row)

        sound_box = QGroupBox("Sound")
        sound_rows = QVBoxLayout(sound_box)
        play_row = QHBoxLayout()
        for w in (self.play_button, self.stop_button, self.loop):
            play_row.addWidget(w)
        sound_rows.addLayout(play_row)
        sound_rows.addWidget(self.save_button)
        sound_rows.addWidget(self.sound_label)

        prime_box = QGroupBox("Prime")
        prime_form = QFormLayout(prime_box)
        prime_row = QHBoxLayout()
        prime_row.addWidget(self.load_button)
        prime_row.addWidget(self.record_button)
        prime_row.addWidget(self.record_seconds)
        prime_form.addRow(prime_row)
        prime_form.addRow(self.use_prime)
        prime_form.addRow("Keep", self.prime_length)
        prime_form.addRow(self.prime_label)

        controls = QVBoxLayout()
        controls.addLayout(form)
        controls.addWidget(sound_box)
        controls.addWidget(prime_box)
        controls.addStretch(1)
        side = QWidget()
        side.setLayout(controls)
        side.setFixedWidth(340)

        self.wave_plot = pg.PlotWidget(title="Waveform")
        self.wave_plot.setLabel("bottom", "time", units="s")
        self.wave_plot.setYRange(-1.05, 1.05)
        self.wave_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve = self.wave_plot.plot([], [], pen=pg.mkPen("#4aa3ff", width=1))
        self.curve.setDownsampling(auto=True, method="peak")  # minutes of audio draw quickly
        self.curve.setClipToView(True)
        self.prime_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffb347", width=1, style=Qt.PenStyle.DashLine))
        self.prime_line.hide()
        self.wave_plot.addItem(self.prime_line)
        self.spec_plot = pg.PlotWidget(title="Spectrogram")
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.spec_plot.setLabel("left", "frequency", units="Hz")
        self.spec_image = pg.ImageItem()
        self.spec_image.setColorMap(pg.colormap.get("viridis"))
        self.spec_plot.addItem(self.spec_image)
        self.spec_plot.setXLink(self.wave_plot)  # one time axis for both

        # the mu-law view: the companding curve, and the generated codes' histogram beside the data's
        self.mulaw_plot = pg.PlotWidget(title="μ-law: code of an amplitude")
        self.mulaw_plot.setLabel("bottom", "amplitude")
        self.mulaw_plot.setLabel("left", "code")
        amp = np.linspace(-1, 1, 513)
        self.mulaw_curve = self.mulaw_plot.plot(amp, mulaw_curve(amp, 255), pen=pg.mkPen("#ffb347", width=2))
        self.mulaw_plot.setXRange(-1, 1, padding=0.02)
        self.hist_plot = pg.PlotWidget(title="codes: generated (bars) vs the data (line)")
        self.hist_plot.setLabel("bottom", "code")
        self.hist_plot.setLabel("left", "share of samples")
        self.hist_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#4aa3ff")
        self.hist_plot.addItem(self.hist_bars)
        self.data_hist = self.hist_plot.plot([], [], pen=pg.mkPen("#ffb347", width=2))
        self.generated_hist: np.ndarray | None = None
        mulaw_row = QHBoxLayout()
        mulaw_row.addWidget(self.mulaw_plot, 1)
        mulaw_row.addWidget(self.hist_plot, 2)
        plots = QVBoxLayout()
        plots.addWidget(self.roll_box)
        plots.addWidget(self.wave_plot, 1)
        plots.addWidget(self.spec_plot, 1)
        plots.addLayout(mulaw_row, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(side)
        layout.addLayout(plots, 1)

        self._stream_pending = False
        self.timer = QTimer(self, interval=REFRESH_MS, timeout=self._refresh)
        self.check_sound()
        self._update_buttons()
        self._listed = False  # bundled sound models are looked for when the tab is first shown
        self._offered: list[Path] = []  # checkpoints the studio opened while the tab was hidden
        app = QApplication.instance()
        if app is not None:  # a clip still being made must not hold up quitting
            app.aboutToQuit.connect(self.cancel)
        if state is not None:  # a finished sound run (or any chosen checkpoint) appears here too
            state.subscribe("checkpoint", self.offer_checkpoint)

    def showEvent(self, event):
        super().showEvent(event)
        if not self._listed:  # not at start-up: the window opens faster, the pool stays free
            self._listed = True
            run_job(_find_bundled_sound_models, on_done=self._alive(self._models_found),
                    on_error=self._alive(lambda text: self.message.emit(f"cannot list sound models: {text}")))
        offered, self._offered = self._offered, []
        for path in offered:
            self.offer_checkpoint(path)

    def _alive(self, fn):
        """A job's callback that does nothing once this panel is gone (window closed meanwhile)."""
        return lambda *args: fn(*args) if shiboken6.isValid(self) else None

    # --- models --------------------------------------------------------------------------
    def _models_found(self, models: list[SoundModel]):
        # the tab opens on the best model that plays by itself (lowest recorded test bits per
        # sample); score-driven ones (melodies) after them: the score tells them the pitch, so
        # their bits are not comparable, and Generate should sound at once without a score
        for m in sorted(models, key=lambda m: (m.local_channels > 0, m.test_bpd)):
            self.add_model(m)
        if not self.models:
            self.about.setText("no sound model yet: train a sequence model on a data set with a "
                               "sample rate (e.g. tones) and it appears here")

    def add_model(self, sound: SoundModel, select: bool = False):
        paths = [m.path.resolve() for m in self.models]
        if sound.path.resolve() in paths:
            index = paths.index(sound.path.resolve())
        else:
            self.models.append(sound)
            self.model_box.addItem(sound.title, str(sound.path))
            index = len(self.models) - 1
        if select or self.model_box.currentIndex() < 0:
            self.model_box.setCurrentIndex(index)

    def offer_checkpoint(self, path):
        """Called with any checkpoint the studio opens: kept only when it is a sound model."""
        if path is None:
            return
        if not self.isVisible():  # look at it when the tab is shown: no pool work for a hidden tab
            self._offered = [p for p in self._offered if p != Path(path)] + [Path(path)]
            return
        from arstudio.paths import BUNDLED_MODELS

        # a new run's checkpoint is what the user wants to hear; bundled ones are listed already
        select = Path(path).resolve().parent != BUNDLED_MODELS.resolve()
        def judged(sound):
            if sound is not None:
                self.add_model(sound, select=select)
            self.offer_judged.emit(str(path), sound is not None)

        run_job(sound_model, Path(path), on_done=self._alive(judged))

    def current(self) -> SoundModel | None:
        i = self.model_box.currentIndex()
        return self.models[i] if 0 <= i < len(self.models) else None

    def _model_changed(self, _index):
        s = self.current()
        if s is None:
            return
        self.cancel()  # a clip being made belongs to the model that was chosen
        self.prime = None  # a prime was resampled to the previous model's rate
        self.use_prime.setChecked(False)
        self.prime_label.setText(NO_PRIME)
        span = "any length" if s.any_length else f"at most {s.length / s.rate:.3f} s"
        self.about.setText(f"trained on {s.length} samples ({s.length / s.rate:.3f} s) at {s.rate} Hz, "
                           f"{s.encoding} {'' if s.levels is None else f'{s.levels} levels'}; "
                           f"generates {span}\n{s.path.name}")
        self.seconds.setMaximum(MAX_SECONDS if s.any_length else s.length / s.rate)
        self.seconds.setValue(min(10.0, self.seconds.maximum()) if s.any_length else s.length / s.rate)
        self.prime_length.setMaximum(int(self.seconds.maximum() * s.rate) - 1)
        self.label_box.clear()
        self.label_box.addItems([NO_LABEL, *s.label_names])
        self.label_box.setEnabled(bool(s.label_names))
        if s.label_names:
            self.label_box.setCurrentIndex(1)
        self.spec_plot.setLabel("left", "frequency", units="Hz")
        self.ready = False
        self.score.setEnabled(bool(s.local_channels))
        self.roll_box.setVisible(bool(s.local_channels))
        self._update_buttons()
        self.data_hist.setData([], [])
        self.hist_bars.setOpts(x=[], height=[])
        if s.levels is not None:
            self.mulaw_plot.setVisible(s.encoding == "mu-law")
            self.mulaw_curve.setData(np.linspace(-1, 1, 513), mulaw_curve(np.linspace(-1, 1, 513), s.levels - 1))
            run_job(data_code_histogram, s, on_done=self._alive(lambda h: self._data_histogram(s, h)))
        run_job(load_sound_model, s, on_done=self._alive(lambda _m: self._warmed(s)),
                on_error=self._alive(lambda text: self.message.emit(f"cannot load {s.path.name}: {text}")))

    def _roll_changed(self, text: str):
        self._from_roll = True
        try:
            self.score.setText(text)
        finally:
            self._from_roll = False

    def _score_typed(self, text: str):
        if self._from_roll:
            return
        try:
            self.roll.set_score(text)
        except ValueError:
            pass  # half-typed: the roll keeps the last melody that parsed

    def show_code_histogram(self, wave: np.ndarray):
        """The generated clip's codes as shares of samples per level (bars)."""
        s = self.current()
        if s is None or s.levels is None or not len(wave):
            return
        codes = wave_to_codes(wave, s)
        self.generated_hist = np.bincount(codes, minlength=s.levels) / len(codes)
        self.hist_bars.setOpts(x=np.arange(s.levels), height=self.generated_hist, width=1.0)

    def _data_histogram(self, s: SoundModel, hist):
        if s is self.current() and hist is not None:
            self.data_hist.setData(np.arange(len(hist)), hist)

    def _warmed(self, s: SoundModel):
        if s is self.current():
            self.ready = True
            self.message.emit(f"{s.model} ready")
            self.model_ready.emit()

    def length_samples(self) -> int:
        s = self.current()
        return max(1, round(self.seconds.value() * (s.rate if s else 1)))

    def label(self) -> int | None:
        i = self.label_box.currentIndex()
        return None if i <= 0 else i - 1

    # --- generation ----------------------------------------------------------------------
    def generating(self) -> bool:
        return self.buffer is not None and not self.buffer.done

    def generate(self):
        s = self.current()
        if s is None or self.generating():
            return
        prime = None
        if self.use_prime.isChecked() and self.prime is not None:
            prime = self.prime[:min(self.prime_length.value(), self.length_samples() - 1)]
        if self.player is not None:
            self.player.stop()
            self.player = None
        local = None
        if s.local_channels:  # a melody model plays the score: the clip lasts as long as it
            from arstudio.data.melodies import local_series, parse_score, score_seconds

            try:
                notes = parse_score(self.score.text())
            except ValueError as e:
                self.message.emit(f"score: {e}")
                return
            self.seconds.setValue(min(self.seconds.maximum(), score_seconds(notes)))
            local = local_series(notes, self.length_samples(), s.rate).numpy()[None]  # hop: rate / 125
        self.buffer = buffer = ClipBuffer(self.length_samples())
        self.rate = s.rate
        self._drawn = -1
        self._spec = None
        self.clip = None
        self._stream_pending = self.stream_play.isChecked() and self.sound_ok
        self.prime_line.setPos(0 if prime is None else len(prime) / s.rate)
        self.prime_line.setVisible(prime is not None)
        self.wave_plot.setXRange(0, buffer.length / s.rate, padding=0.01)
        self.message.emit(f"generating {buffer.length / s.rate:.2f} s ({buffer.length} samples) with {s.model}…")
        run_job(generate_into, buffer, s, self.temperature.value(), self.seed.value(), prime, self.label(),
                local=local,
                on_done=self._alive(lambda wave: self._generated(buffer, wave)),
                on_error=self._alive(lambda text: self._failed(buffer, text)))
        if self._stream_pending:
            self._start_stream(buffer)
        self.timer.start()
        self._update_buttons()

    def cancel(self):
        if self.buffer is not None:
            self.buffer.cancelled = True

    def _generated(self, buffer: ClipBuffer, wave: np.ndarray):
        if buffer is not self.buffer:
            return
        self.timer.stop()
        self._refresh()
        self.clip = wave
        self.show_code_histogram(wave)
        self.seed.setValue(self.seed.value() + 1)  # the next press gives a new clip
        cut = " (cancelled)" if buffer.cancelled else ""
        self.message.emit(f"generated {len(wave)} samples ({len(wave) / self.rate:.2f} s){cut}")
        self._update_buttons()
        self.clip_ready.emit()

    def _failed(self, buffer: ClipBuffer, text: str):
        buffer.done = True
        self.timer.stop()
        self.message.emit(f"generation failed: {text}")
        self._update_buttons()

    def _refresh(self):
        """Timer tick: start streaming playback once enough is made, draw the latest samples
        (only when new ones arrived)."""
        if self.buffer is None:
            return
        buffer = self.buffer
        if self.player is not None and self.player.started_at is not None and self._stream_pending:
            self._stream_pending = False
            self.playback_started.emit()
        wave, _done = buffer.snapshot()
        if len(wave) == self._drawn:
            return
        self._drawn = len(wave)
        self.show_wave(wave, self.rate, incremental=True)

    def _start_stream(self, buffer: ClipBuffer):
        def source(start, frames):
            with buffer.lock:
                end = min(buffer.filled, start + frames)
                return buffer.wave[start:end].copy(), buffer.done and end >= buffer.filled
        try:  # opened now, while the first samples are made: it plays as soon as they are
            self.player = audio.StreamPlayer(source, self.rate, prebuffer=PREBUFFER_S).start()
        except audio.AudioUnavailable as e:
            self._stream_pending = False
            self.message.emit(str(e))

    def show_wave(self, wave: np.ndarray, rate: int, incremental: bool = False):
        self.curve.setData(np.arange(len(wave)) / rate, wave)
        if len(wave) == 0:
            return
        # the spectrogram: only frames not drawn yet are computed (a long clip grows cheaply)
        have = 0 if (self._spec is None or not incremental) else len(self._spec)
        frames = 1 + (max(len(wave), SPEC_WINDOW) - SPEC_WINDOW) // SPEC_HOP
        if have < frames:
            new = spectrogram(wave[have * SPEC_HOP:], SPEC_WINDOW, SPEC_HOP)[:frames - have]
            self._spec = new if have == 0 else np.concatenate([self._spec, new])
        db = self._spec
        self.spec_image.setImage(db, autoLevels=False, levels=(db.max() - 60, db.max()))
        # frame i covers samples i*hop .. i*hop+window: centred there; bins 0 .. rate/2 in Hz
        self.spec_image.setRect((SPEC_WINDOW - SPEC_HOP) / 2 / rate, 0, db.shape[0] * SPEC_HOP / rate, rate / 2)

    # --- sound out -------------------------------------------------------------------------
    def check_sound(self) -> bool:
        """Ask arstudio.audio whether playback can work (again, e.g. after a server started)."""
        self.sound_ok, self.sound_why = audio.availability()
        self.sound_label.setText(f"output: {self.sound_why}" if self.sound_ok else self.sound_why)
        self._update_buttons()
        return self.sound_ok

    def _update_buttons(self):
        has_model, busy, has_clip = self.current() is not None, self.generating(), self.clip is not None
        self.generate_button.setEnabled(has_model and not busy)
        self.cancel_button.setEnabled(busy)
        self.save_button.setEnabled(has_clip)
        for w in (self.play_button, self.stop_button, self.loop, self.record_button):
            w.setEnabled(self.sound_ok)
            w.setToolTip("" if self.sound_ok else self.sound_why)
        self.play_button.setEnabled(self.sound_ok and has_clip)
        self.record_button.setEnabled(self.sound_ok and has_model)
        self.load_button.setEnabled(has_model)

    def play(self):
        if self.clip is None:
            return
        try:
            audio.play(self.clip, self.rate, loop=self.loop.isChecked())
        except audio.AudioUnavailable as e:
            self.message.emit(str(e))
            return
        self.message.emit("playing" + (" in a loop" if self.loop.isChecked() else ""))

    def stop(self):
        if self.player is not None:
            self.player.stop()
            self.player = None
        audio.stop()
        self.cancel()

    def save_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save the clip as WAV", "clip.wav", "WAV (*.wav)")
        if path:
            self.save_wav(path)

    def save_wav(self, path) -> Path | None:
        if self.clip is None:
            return None
        try:
            out = audio.save_wav(path, self.clip, self.rate)
        except OSError as e:
            self.message.emit(f"cannot save {path}: {e}")
            return None
        self.message.emit(f"saved {out}")
        return out

    # --- prime ------------------------------------------------------------------------------
    def load_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Load a prime", "", "Audio (*.wav *.flac *.ogg)")
        if path:
            self.load_prime(path)

    def load_prime(self, path):
        s = self.current()
        if s is not None:
            run_job(audio.load_audio, path, s.rate, on_done=self._alive(lambda w: self.set_prime(w, Path(path).name)),
                    on_error=self._alive(lambda text: self.message.emit(f"cannot use {path} as a prime: {text}")))

    def record(self):
        s = self.current()
        if s is None:
            return
        self.record_button.setEnabled(False)
        self.message.emit(f"recording {self.record_seconds.value():.2f} s…")

        def done(wave):
            self._update_buttons()
            self.set_prime(wave, "the microphone")

        def failed(text):
            self._update_buttons()
            self.message.emit(f"cannot record: {text}")

        run_job(audio.record, self.record_seconds.value(), s.rate, on_done=self._alive(done),
                on_error=self._alive(failed))

    def set_prime(self, wave: np.ndarray, source: str):
        s = self.current()
        self.prime = np.asarray(wave, dtype=np.float32)
        self.use_prime.setChecked(True)
        # keep a quarter of the clip by default: enough context, and most of it is new
        self.prime_length.setValue(max(1, min(len(self.prime), self.length_samples() // 4)))
        rate = s.rate if s else 1
        self.prime_label.setText(f"prime: {len(self.prime)} samples ({len(self.prime) / rate:.2f} s) "
                                 f"from {source}")
        self.message.emit(f"prime loaded from {source}")
        self.show_wave(self.prime[:self.prime_length.value()], rate)
