"""Does the window stay responsive while training runs? And how fast does it open?

``arstudio bench gui_latency [--seconds 20] [--steps 600]``

1. Event-loop latency: the real studio window (offscreen unless a display is
   asked for) starts a real training worker through its Start button; a 10 ms
   QTimer records how late each tick fires while the worker trains and the
   window follows the run (curves, samples, figures at ~30 Hz). Prints p50,
   p99 and max lateness in ms.
2. Cold start: a fresh Python process opens the studio; prints the time to a
   visible window and to the first sample grid on screen (a bundled model's
   samples, or, when models/ holds none, the run just trained opened in the
   Train tab).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TICK_MS = 10


def _percentile(values, q):
    import numpy as np

    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("ARSTUDIO_NO_SYSCHECK", "1")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _wait(app, condition, timeout):
    """Run the event loop (not a processEvents loop) until ``condition()`` or timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer(interval=20)
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start()
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    if not condition():
        loop.exec()
    poll.stop()
    return condition()


def _probe(app, until, seconds) -> list[float]:
    """Lateness (ms) of each tick of a 10 ms timer while the event loop runs."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    late: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = {"t": clock.nsecsElapsed()}

    def tick():
        now = clock.nsecsElapsed()
        late.append(max(0.0, (now - last["t"]) / 1e6 - TICK_MS))
        last["t"] = now

    probe = QTimer(interval=TICK_MS)
    probe.setTimerType(probe.timerType().PreciseTimer)
    probe.timeout.connect(tick)
    probe.start()
    _wait(app, until, seconds)
    probe.stop()
    return late


def measure_latency(seconds: float, steps: int, workdir: Path) -> tuple[dict, Path]:
    os.environ["ARSTUDIO_RUNS"] = str(workdir / "runs")
    os.environ["ARSTUDIO_SETTINGS"] = str(workdir / "settings.ini")
    app = _app()
    from arstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.studio.close_policy = "stop"
    window.show()
    studio = window.studio
    studio.picker.select("pixelcnn", "digits")
    studio.picker.preset.setCurrentText("quick demo")
    studio.picker.preset.activated.emit(studio.picker.preset.currentIndex())
    studio.train.set_train_settings({"steps": steps, "batch_size": 64, "snapshot_every": 50, "device": "cpu"})
    # start-up work first (the Samples tab draws a bundled model's grid in a pool thread)
    _wait(app, lambda: not window.samples.models or window.samples.grid_array is not None, 120)
    idle = _probe(app, lambda: False, min(5.0, seconds))  # the machine's own noise, no training
    studio.train.start_button.click()
    train = studio.train
    if not _wait(app, lambda: train.follower is not None and train.follower.step > 0, 120):
        raise SystemExit("the training worker did not start: " + train.banner.text())

    first_step = train.follower.step
    late = _probe(app, lambda: train.ended_state is not None, seconds)
    steps_seen = train.follower.step - first_step
    grids = len(train.view._grids)
    if train.active():
        train.stop()
    _wait(app, lambda: train.ended_state is not None, 120)
    run = train.follower.path
    window.close()
    return {"p50_ms": _percentile(late, 50), "p99_ms": _percentile(late, 99), "max_ms": max(late, default=0),
            "idle_p99_ms": _percentile(idle, 99),
            "ticks": len(late), "train_steps_during": steps_seen, "sample_grids_shown": grids}, run


def cold_child(t0: float, run: str | None) -> None:
    """In a fresh process: open the studio, report seconds since ``t0`` as JSON."""
    app = _app()
    from arstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    shown = time.time() - t0
    still = window.studio.train.view._pixmap is not None  # a bundled grid in the Train tab
    panel = window.samples
    if panel.models:
        source = "bundled model"
        ok = _wait(app, lambda: panel.grid_array is not None and not panel.image.pixmap().isNull(), 120)
    else:
        source = "run opened in the Train tab (no bundled models in models/)"
        window.studio.open_run(run)
        ok = _wait(app, lambda: window.studio.train.view._pixmap is not None, 60)
    samples = time.time() - t0
    print(json.dumps({"window_s": shown, "still_s": shown if still else None,
                      "samples_s": samples if ok else None, "source": source}))
    window.studio.close_policy = "leave"
    window.close()


def measure_cold_start(run: Path, workdir: Path) -> dict:
    env = {**os.environ, "ARSTUDIO_SETTINGS": str(workdir / "cold.ini")}
    t0 = time.time()
    out = subprocess.run([sys.executable, "-m", "arstudio.gui.latency_bench", "--cold-child", str(t0), str(run)],
                         capture_output=True, text=True, timeout=300, env=env)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"cold start failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="arstudio bench gui_latency")
    p.add_argument("--seconds", type=float, default=20.0, help="how long to measure while training runs")
    p.add_argument("--steps", type=int, default=600, help="training steps of the worker")
    p.add_argument("--cold-child", nargs=2, metavar=("T0", "RUN"), help=argparse.SUPPRESS)
    args = p.parse_args(argv or [])
    if args.cold_child:
        cold_child(float(args.cold_child[0]), args.cold_child[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="arstudio-bench-") as tmp:
        workdir = Path(tmp)
        lat, run = measure_latency(args.seconds, args.steps, workdir)
        print(f"event-loop latency while training (pixelcnn quick demo on digits, worker on CPU, "
              f"{lat['ticks']} ticks of {TICK_MS} ms, {lat['train_steps_during']} training steps, "
              f"{lat['sample_grids_shown']} sample grids): p50 {lat['p50_ms']:.1f} ms, "
              f"p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms "
              f"(same window idle, no training: p99 {lat['idle_p99_ms']:.1f} ms)")
        cold = measure_cold_start(run, workdir)
        samples = f"{cold['samples_s']:.2f} s" if cold["samples_s"] is not None else "not shown"
        still = (", with the bundled model's saved grid in the Train tab" if cold["still_s"] is not None else "")
        print(f"cold start: window visible {cold['window_s']:.2f} s{still}; freshly drawn samples on screen "
              f"{samples} ({cold['source']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
