import os

# Qt tests run without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ARSTUDIO_NO_SYSCHECK", "1")

import builtins
import gc

import pytest
import torch

# tiny models: one thread beats two (thread hand-off costs more than the maths)
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread():
    """Torn down after pytest-qt closes a test's windows: they are collected here, on the
    GUI thread, never by a collection that starts in a worker thread (see
    arstudio/gui/gc_policy.py, which does the same for the running studio).

    What outlives the collection (modules, caches, a module's shared window) is then frozen
    (gc.freeze): the next test's collection scans only what was made since, not the whole
    heap again (torch, its compiler stack once an optimizer has run, Qt: a full collection
    cost 0.4-1 s of CPU after every test, a third of the suite's time)."""
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True, scope="module")
def collect_everything_after_each_module():
    """Once a module's own shared fixtures are gone: one collection over the whole heap,
    frozen objects included, so that nothing frozen and since dropped outlives its module."""
    yield
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def without_portaudio(monkeypatch):
    """A machine without libportaudio2, simulated: importing sounddevice fails the way
    it does there (the library cannot be uninstalled for one test)."""
    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_portaudio)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The real studio window on throw-away runs and settings folders (shared by the window tests)."""
    monkeypatch.setenv("ARSTUDIO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ARSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    from arstudio.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.studio.close_policy = "stop"  # never a modal question in a test
    w.show()
    yield w
    w.studio.train.timer.stop()
    if w.studio.train._own_worker_running():  # a failing test must not leave a worker behind
        w.studio.train.process.kill()
        w.studio.train.process.wait(10)
