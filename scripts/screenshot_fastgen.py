"""Screenshots of the fast-generation views for the README (offscreen, QWidget.grab()):
the Samples tab's speed meter after the same seed on both paths, the class-conditional
model's one row per class, and the Complete tab's states view with the order picker.

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 python scripts/screenshot_fastgen.py
"""
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def wait_for(signal, seconds=600):
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main():
    app = QApplication.instance() or QApplication(sys.argv)
    from arstudio.gui.complete_tab import CompletePanel
    from arstudio.gui.qt_samples import SamplesPanel
    from arstudio.gui.state import StudioState
    from arstudio.paths import BUNDLED_MODELS

    OUT.mkdir(parents=True, exist_ok=True)
    panel = SamplesPanel()
    panel.resize(900, 620)
    panel.count.setValue(9)
    panel.show()
    row = next(i for i, m in enumerate(panel.models) if m.key == "pixelcnn-digits")
    panel.list.setCurrentRow(row)
    wait_for(panel.samples_ready)
    panel.speed.rerun.click()  # the same seed on the naive path
    wait_for(panel.samples_ready)
    panel.speed.refresh()
    panel.grab().save(str(OUT / "speed-meter-samples.png"))
    row = next(i for i, m in enumerate(panel.models) if m.key == "gated-pixelcnn-cond-mnist5k-binary")
    panel.count.setValue(30)
    panel.speed.set_path("cached")
    panel.list.setCurrentRow(row)
    wait_for(panel.samples_ready)
    panel.speed.refresh()
    panel.grab().save(str(OUT / "class-rows-samples.png"))

    state = StudioState()
    complete = CompletePanel(state)
    complete.resize(1280, 900)
    complete.show()
    state.set("checkpoint", BUNDLED_MODELS / "gated-pixelcnn-mnist5k-binary.safetensors")
    wait_for(complete.facts_ready)
    complete.count.setValue(2)
    complete.speed.setValue(complete.speed.maximum())
    complete.start_completion()
    wait_for(complete.completed)
    complete._view_pixel(0, 12, 9)
    wait_for(complete.states_ready)
    for _ in range(5):  # let the layouts settle
        app.processEvents()
    complete.states.grab().save(str(OUT / "states-complete.png"))  # the whole view, scrolled or not
    print("\n".join(str(p) for p in sorted(OUT.glob("*.png"))))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
