"""Regrab docs/screenshots/lesson-panel.png: the PixelCNN lesson's blind-spot step in the window
at 1280×720 (offscreen), the lesson panel under the tabs.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_lessons.py
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ARSTUDIO_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402


def wait(app, done, seconds=120):
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    if not done():
        raise SystemExit("timed out")


def main(lesson="pixelcnn", step=2, out=ROOT / "docs" / "screenshots" / "lesson-panel.png"):
    app = QApplication([])
    from arstudio.gui.main_window import MainWindow
    from arstudio.lessons import find_lesson

    w = MainWindow()
    w.resize(1280, 720)
    w.show()
    w.lessons.open(find_lesson(lesson))
    for _ in range(step):
        w.lessons.next()
    insp = w.complete.inspector
    wait(app, lambda: w.lessons.settled() and insp.last is not None and "receptive" in insp.last)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    out.parent.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(out))
    print(out)
    os._exit(0)


if __name__ == "__main__":
    main()
