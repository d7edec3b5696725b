"""Issue 21: the window must not die after minutes of ordinary use.

PySide6 6.12.0 on CPython < 3.12 loses a reference to ``True`` on every emit of
a ``Signal(bool)``/``Signal(object)`` carrying it, and the interpreter aborts
("bool_dealloc") when the count reaches zero. These tests fail on that
combination: the ten-line check on the installed binding, the start-up guard,
and a soak of the real window (resamples, completions, tab switches, Inspect
visits after model changes with bundled models) whose reference counts of
``True``/``False`` must not drift and whose memory must stay flat.
"""
import gc
import os
import subprocess
import sys

import pytest

from arstudio.bundled import list_bundled

# even, so that the soak ends on the model it started on: the window's state then matches
# (a drawn mask view holds references to True and False of its own)
SOAK_CYCLES = 2 * ((int(os.environ.get("ARSTUDIO_SOAK_CYCLES", "60")) + 1) // 2)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


EMIT_CHECK = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class S(QObject):
    b = Signal(bool)
    o = Signal(object)

app = QCoreApplication([])
s = S()
s.b.connect(lambda v: None)
s.o.connect(lambda v: None)
for value in (True, False):
    for name, signal in (("bool", s.b), ("object", s.o)):
        signal.emit(value)  # the first emit may cache a reference of its own
        before = sys.getrefcount(value)
        for _ in range(100):
            signal.emit(value)
        drift = sys.getrefcount(value) - before
        print(name, value, drift)
        if drift < 0:  # give back what was lost, or this process aborts at exit
            import ctypes
            for _ in range(-drift):
                ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
"""


def test_emitting_true_keeps_its_references():
    """The issue's ten-line check, on bool and object signals, True and False. In a fresh
    process: inside the suite, threads that earlier tests left take and drop references to
    True/False while we count (drifts of a few either way), which is not the bug (one lost per emit)."""
    r = subprocess.run([sys.executable, "-c", EMIT_CHECK], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if line.strip()]
    assert len(rows) == 4, r.stdout
    for name, value, drift in rows:
        assert int(drift) == 0, f"a Signal({name}) emitting {value} 100 times changed its refcount by {drift}"


GUARD_CHECK = """
import sys
from arstudio.gui.binding_check import binding_problem, true_references_lost

true_references_lost()  # the first call also pays one-time imports
before = sys.getrefcount(True)
lost = true_references_lost()
after = sys.getrefcount(True)
print(lost, after - before, binding_problem())
"""


def test_the_start_up_guard_measures_this_binding():
    """In a fresh process, as at start-up: inside the suite, threads left by earlier tests move
    True's count by a few while we look (CI once saw +2), which says nothing about the probe."""
    r = subprocess.run([sys.executable, "-c", GUARD_CHECK], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    lost, moved, problem = r.stdout.split(maxsplit=2)
    assert lost == "0", r.stdout
    assert moved == "0", f"the probe changed True's count by {moved}"  # it leaves the count as it found it
    assert problem.strip() == "None", r.stdout


def test_the_guard_refuses_a_leaking_binding_in_one_line():
    """A leaking binding is simulated by a probe that reports loss (the broken wheel cannot be
    installed beside the good one in this process); launch() must refuse in one stderr line,
    before any window, and exit cleanly."""
    code = ("import arstudio.gui.binding_check as b; b.true_references_lost = lambda emits=16: emits;"
            "import sys; sys.version_info >= (3, 12) and sys.exit(99);"
            "from arstudio.gui.launch import launch; raise SystemExit(launch())")
    env = {k: v for k, v in os.environ.items() if k != "ARSTUDIO_IGNORE_BINDING_LEAK"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    if r.returncode == 99:
        pytest.skip("Python 3.12+: True is immortal, the guard has nothing to refuse")
    assert r.returncode == 1, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bool_dealloc" in lines[0] and "PySide6-Essentials==" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def _bundled_path(key):
    return next(m.path for m in list_bundled() if m.key == key)


def test_soak_of_the_real_window_keeps_true_false_and_memory_flat(qtbot):
    """Resamples, completions, tab switches and Inspect visits after model changes, SOAK_CYCLES
    times over (ARSTUDIO_SOAK_CYCLES=300 for a longer soak): each costs the broken binding
    about 4, 2.6 and 48 references to True, so a few hundred operations expose it."""
    from arstudio.gui.completion_run import MAX_SPEED
    from arstudio.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    samples, complete, tabs = window.samples, window.complete, window.tabs
    with qtbot.waitSignal(samples.samples_ready, timeout=120_000):
        pass  # the window's own first grid
    models = [_bundled_path("pixelcnn-digits"), _bundled_path("made-digits-binary")]
    complete.count.setValue(1)
    complete.speed.setValue(MAX_SPEED)

    def cycle(i):
        with qtbot.waitSignal(samples.samples_ready, timeout=60_000):
            samples.button.click()  # a resample
        tabs.setCurrentWidget(complete)
        window.state.set("checkpoint", models[0])
        with qtbot.waitSignal(complete.completed, timeout=60_000):
            complete.complete_button.click()  # a completion, pixel by pixel
        window.state.set("checkpoint", models[(i + 1) % 2])  # a model change, then...
        tabs.setCurrentWidget(window.inspect)  # ...a visit to the Inspect tab
        qtbot.wait(5)
        for index in range(tabs.count()):  # every tab once
            tabs.setCurrentIndex(index)
            qtbot.wait(2)

    def settle():
        """Wait for quiescence: every pool job delivered and freed, so that in-flight work
        (which holds references of its own) is not mistaken for drift."""
        from PySide6.QtCore import QThreadPool

        from arstudio.gui import workers

        pool = QThreadPool.globalInstance()
        qtbot.waitUntil(lambda: pool.activeThreadCount() == 0 and not workers._LIVE, timeout=120_000)
        qtbot.wait(50)  # deliver the deleteLater()s of the finished jobs
        gc.collect()

    for i in range(2):  # warm up: caches, pools, first-use allocations
        cycle(i)
    settle()
    true_before, false_before, rss_before = sys.getrefcount(True), sys.getrefcount(False), _rss_bytes()
    for i in range(SOAK_CYCLES):
        cycle(i)
    settle()
    true_drift = sys.getrefcount(True) - true_before
    false_drift = sys.getrefcount(False) - false_before
    growth = _rss_bytes() / rss_before - 1
    window.studio.confirm_close = lambda: True
    complete.stop()
    # live objects may hold a few more or fewer references between two moments; the binding's
    # bug loses several per operation (hundreds over the soak, then a crash). False gains about
    # one per cycle: the binding keeps the wrappers of a few quick pool jobs after their run
    # (each holds its cancelled=False; their work and arguments are released), which is not
    # a loss, and not hundreds
    assert abs(true_drift) < 40, f"refcount of True drifted by {true_drift} over {SOAK_CYCLES} cycles"
    assert -40 < false_drift < 2.5 * SOAK_CYCLES, \
        f"refcount of False drifted by {false_drift} over {SOAK_CYCLES} cycles"
    assert growth < 0.10, f"memory grew by {growth:.1%} over {SOAK_CYCLES} cycles"
