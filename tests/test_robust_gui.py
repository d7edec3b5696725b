"""The window under bad input: every failure is caught at its slot boundary and shown once,
the window stays up. pytest-qt fails a test on any exception raised inside a Qt slot, so
each test below also proves that its path raised nothing there."""
import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from arstudio.paths import BUNDLED_MODELS

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_checkpoints as fz  # noqa: E402



def _run_folder(path: Path, config, status, events) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    (path / "status.json").write_text(status)
    (path / "events.jsonl").write_text(events)
    (path / "checkpoints").mkdir()
    (path / "samples").mkdir()
    return path


def test_the_window_starts_with_damaged_files_in_models(qtbot, tmp_path, monkeypatch):
    import arstudio.paths as paths

    folder = tmp_path / "models"
    folder.mkdir()
    for key in ("pixelcnn-digits", "nade-digits-binary"):
        for suffix in (".safetensors", ".md", ".png"):
            if (BUNDLED_MODELS / f"{key}{suffix}").exists():
                shutil.copy(BUNDLED_MODELS / f"{key}{suffix}", folder / f"{key}{suffix}")
    (folder / "zeros.safetensors").write_bytes(bytes(100))
    (folder / "listy.safetensors").write_bytes(fz.with_meta((BUNDLED_MODELS / "pixelcnn-digits.safetensors")
                                                            .read_bytes(), "[1, 2]", resign=False))
    (folder / "empty.safetensors").write_bytes(b"")
    monkeypatch.setattr(paths, "BUNDLED_MODELS", folder)
    monkeypatch.setenv("ARSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    from arstudio.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.studio.close_policy = "stop"
    w.show()
    panel = w.samples
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert [m.key for m in panel.models] == ["nade-digits-binary", "pixelcnn-digits"]
    assert sorted(t for t in texts if "damaged" in t) == ["empty (damaged)", "listy (damaged)", "zeros (damaged)"]
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        pass  # the good ones still draw


def test_malformed_run_files_are_messages(window, qtbot, tmp_path):
    studio = window.studio
    bad = {
        "config-list": ("[1, 2]", '{"state": "done"}', ""),
        "config-binary": ("\x00\xff", '{"state": "done"}', ""),
        "no-config": (None, "", ""),
    }
    for name, (config, status, events) in bad.items():
        path = tmp_path / name
        if config is None:
            path.mkdir()
        else:
            _run_folder(path, config, status, events)
        assert not studio.open_run(path)
        assert "cannot open run" in studio.train.banner.text()
    # a readable config but every other file of the wrong shape: it opens and shows what it can
    odd = _run_folder(tmp_path / "odd", {"model": "pixelcnn", "dataset": "digits", "train": "fast",
                                         "parameters": [1]}, "[1, 2]",
                      '[1]\n"x"\n{"event": "step", "step": "x", "bpd": {}}\n{"event": "step", "step": 2, "bpd": 1.0}\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert studio.open_run(odd)
        qtbot.wait(600)  # timer ticks read the wrong-typed status.json again and again
        assert studio.train.follower.step == 2
        for text in ('"running"', '{"state": 7, "pid": "x"}', '{"state": "running", "pid": [1]}', "\xff"):
            (odd / "status.json").write_text(text, errors="surrogateescape")
            qtbot.wait(300)
        studio.compare.refresh() if hasattr(studio.compare, "refresh") else None
    assert window.isVisible()


@pytest.mark.parametrize("content,word", [
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"[model\nname = ", "not valid TOML"),
    (b'run = "a string"\n', "[run] should be a table"),
    (b'[run]\npath = 5\n', "run.path"),
    (b'[train]\nsteps = "many"\n', "bad training settings"),
    (b'[train]\nlr = [1, 2]\n', "bad training settings"),
    (b'[model]\nname = "pixelcnn"\nsettings = [1]\n', "model.settings"),
    (b'model = 5\n', "[model] should be a table"),
    (b'[view]\ntab = 5\n', None),  # an unknown tab is simply not chosen
])
def test_broken_session_files_are_one_message(window, tmp_path, content, word):
    path = tmp_path / "s.toml"
    path.write_bytes(content)
    ok = window.studio.load_session(path)
    if word is None:
        assert ok
    else:
        assert not ok and word in window.studio.train.banner.text()
    assert window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_a_failing_timer_is_shown_once_and_the_window_stays_up(window, qtbot, capsys):
    from arstudio.gui.errors import install

    banner = install(window)
    try:
        ticks = []

        def broken_tick():
            ticks.append(1)
            raise ValueError("status.json holds a list")  # as a slot that fails every tick

        timer = QTimer(window, interval=10)
        timer.timeout.connect(broken_tick)
        timer.start()
        qtbot.waitUntil(lambda: len(ticks) >= 64, timeout=20_000)
        timer.stop()

        def other():
            raise KeyError("another")

        QTimer.singleShot(0, other)
        qtbot.wait(100)
    finally:
        sys.excepthook = banner.previous_hook
    err = capsys.readouterr().err
    assert err.count("status.json holds a list") <= 2  # one traceback (its last line names it)
    assert err.count("Traceback") == 2  # once per distinct error, not 64 times
    assert banner.seen[("ValueError", "status.json holds a list")] >= 64
    assert banner.isVisible() and "another" in banner.text()
    assert window.isVisible()


def test_complete_refuses_a_bomb_checkpoint_before_building(window, qtbot, tmp_path):
    import resource

    from arstudio.checkpoint import HASH_KEY, content_hash

    src = BUNDLED_MODELS / "pixelcnn-digits.safetensors"
    raw = src.read_bytes()
    _, header, _ = fz.split_file(raw)
    meta = json.loads(header["__metadata__"]["arstudio"])
    meta["config"]["channels"] = 8000  # 5 GB if built (the measurement)
    from safetensors.torch import load_file

    meta[HASH_KEY] = content_hash(meta, load_file(str(src)))  # the file's own tensors, as stored
    bomb = tmp_path / "bomb.safetensors"
    bomb.write_bytes(fz.with_meta(raw, meta, resign=False))
    tab = window.complete
    window.tabs.setCurrentWidget(tab)
    window.state.set("checkpoint", bomb)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    messages = []
    tab.message.connect(messages.append)
    tab.start_completion()
    qtbot.waitUntil(lambda: any("completion failed" in m for m in messages), timeout=60_000)
    text = next(m for m in messages if "completion failed" in m)
    assert "refused before building" in text
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300 * 1024  # KiB
    assert window.isVisible()


def test_a_session_that_is_a_device_or_fifo_is_one_message(tmp_path):
    """/dev/zero never ends and a FIFO blocks: neither is read, each is one SessionError."""
    import os

    from arstudio.gui.session import SessionError, load_session

    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    for path, word in (("/dev/zero", "not a regular file"), (fifo, "not a regular file"), (tmp_path, "is a folder")):
        with pytest.raises(SessionError, match=word):
            load_session(path)
