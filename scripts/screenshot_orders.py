"""Screenshots of generation orders for the README (offscreen, QWidget.grab()): the Complete
tab half-way through a completion by the MADE trained over orderings (centre-out, chosen
in the order picker) and by the zigzag PixelSNAIL (its own fixed order, shown greyed).
Magenta pixels are not generated yet; the order map runs blue (first) to red (last).
The states view is hidden for these pictures.

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 python scripts/screenshot_orders.py
"""
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def settle(app, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def part_way(app, key, order, steps, out):
    from arstudio.gui.complete_tab import CompletePanel
    from arstudio.gui.state import StudioState
    from arstudio.paths import BUNDLED_MODELS

    state = StudioState()
    panel = CompletePanel(state)
    panel.resize(1280, 900)
    panel.show()
    facts = []
    panel.facts_ready.connect(lambda: facts.append(1))
    state.set("checkpoint", BUNDLED_MODELS / f"{key}.safetensors")
    while not facts:
        settle(app, 0.1)
    if order is not None:
        panel.order_picker.box.setCurrentText(order)
    panel.count.setValue(4)
    panel.pause_button.setChecked(True)  # paused from the start: single steps, as many as asked
    panel.start_completion()
    for _ in range(steps):
        panel._single_step()
        settle(app, 0.08)
    while f"step {steps} of" not in panel.progress.text():
        settle(app, 0.05)
    settle(app, 0.3)
    panel.states.setVisible(False)  # the states view is another screenshot: the completions keep their room
    settle(app, 0.3)
    panel.grab().save(str(out))
    panel.stop()
    settle(app, 0.3)
    panel.close()


def main():
    app = QApplication.instance() or QApplication(sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    part_way(app, "made-orders-digits-binary", "centre-out", 30, OUT / "order-made-centre-out.png")
    part_way(app, "pixelsnail-zigzag-digits-binary", None, 29, OUT / "order-pixelsnail-zigzag.png")  # row 3 half done
    print("\n".join(str(p) for p in sorted(OUT.glob("order-*.png"))))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
