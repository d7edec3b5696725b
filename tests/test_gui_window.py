"""The first window, driven for real with pytest-qt on the offscreen platform."""
import subprocess
import sys

import numpy as np

from arstudio.bundled import list_bundled


def test_window_opens_on_bundled_model_with_samples(qtbot):
    from arstudio.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "ARStudio"
    panel = window.samples
    assert panel.list.count() == len(list_bundled()) >= 1
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        pass  # the first grid is started by the window itself, off the GUI thread
    grid = panel.grid_array
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.std() > 5  # real pixels, not a blank
    assert not panel.image.pixmap().isNull()
    first = grid.copy()
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.button.click()
    assert not np.array_equal(first, panel.grid_array)  # a new seed gives new samples


def test_missing_display_is_a_message_not_an_abort():
    code = ("import os; os.environ.pop('DISPLAY', None); os.environ.pop('WAYLAND_DISPLAY', None);"
            "os.environ.pop('QT_QPA_PLATFORM', None); os.environ.pop('ARSTUDIO_NO_SYSCHECK', None);"
            "from arstudio.gui.launch import launch; raise SystemExit(launch())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "cannot open its window" in r.stderr and "no display" in r.stderr
    assert "Traceback" not in r.stderr


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    import gc
    import weakref

    from arstudio.gui.gc_policy import collect_garbage_on_gui_thread

    collector = collect_garbage_on_gui_thread(interval_s=0.05)
    assert collect_garbage_on_gui_thread() is collector  # one per process
    assert not gc.isenabled()  # no collection can start inside a worker thread

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    # enough unreachable cycles to cross the first generation's threshold
    refs = [cycle() for _ in range(gc.get_threshold()[0] + 10)]
    alive = refs[0]
    assert alive() is not None  # automatic collection is off: nothing has collected it yet
    qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # the GUI thread's timer collected it
