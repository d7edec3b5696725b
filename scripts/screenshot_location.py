"""Screenshot of location conditioning for the README (offscreen, QWidget.grab()): the
Samples tab with the map-conditioned Gated PixelCNN, a region painted by a mouse drag in
the top-right corner, and the samples drawn there.

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 python scripts/screenshot_location.py
"""
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def wait_for(signal, seconds=600):
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main():
    app = QApplication.instance() or QApplication(sys.argv)
    from arstudio.gui.qt_samples import SamplesPanel

    OUT.mkdir(parents=True, exist_ok=True)
    panel = SamplesPanel()
    panel.resize(900, 560)
    panel.count.setValue(16)
    panel.show()
    row = next(i for i, m in enumerate(panel.models) if m.key == "gated-pixelcnn-where-digits")
    panel.list.setCurrentRow(row)
    wait_for(panel.samples_ready)
    picker = panel.location
    picker.clear_button.click()
    wait_for(panel.samples_ready)
    view = picker.map
    cells = [(r, c) for k, r in enumerate((1, 3, 5, 6))
             for c in (range(9, 15) if k % 2 == 0 else range(14, 8, -1))]
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[0]))
    for cell in cells[1:]:
        QTest.mouseMove(view, view.cell_centre(*cell))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[-1]))
    wait_for(panel.samples_ready)
    panel.grab().save(str(OUT / "location-samples.png"))
    print("wrote", OUT / "location-samples.png")
    app.processEvents()


if __name__ == "__main__":
    main()
