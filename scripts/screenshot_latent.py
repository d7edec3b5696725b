"""The Latent tab's three views grabbed offscreen into docs/screenshots/ (for the README).

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_latent.py [PRIOR_KEY]
"""
import sys
import time
from pathlib import Path

import torch
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main(key: str = "pixelcnn-vqvae-mnist5k"):
    app = QApplication([])
    torch.set_num_threads(1)
    from arstudio.gui.latent_tab import LatentTab
    from arstudio.gui.state import StudioState

    def wait(cond, timeout=60.0):
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("the view did not get there in time")
            app.processEvents()
            time.sleep(0.01)
        for _ in range(10):
            app.processEvents()

    tab = LatentTab(StudioState())
    tab.choice.setCurrentIndex(next(i for i in range(tab.choice.count()) if key in tab.choice.itemData(i)))
    tab.resize(1280, 760)
    tab.show()
    wait(lambda: tab.pair is not None)
    OUT.mkdir(parents=True, exist_ok=True)

    tab.samples.controls.speed.setValue(0)
    tab.samples.sample()
    wait(lambda: tab.samples.result is not None)
    tab.grab().save(str(OUT / "latent-samples.png"))

    tab.views.setCurrentWidget(tab.complete)  # lower half unknown; paused part-way: codes still to come veiled
    view = tab.complete
    view.controls.pause.setChecked(True)
    view.complete()
    h, w = tab.pair.code_shape
    for k in range(w + 3):
        view.controls.step.click()
        time.sleep(0.05)
    wait(lambda: view.views and view.views[0].grid.pending.shape == (h, w)
         and view.views[0].grid.pending.sum() <= view.codes_view.pending.sum() - (w + 3))
    tab.grab().save(str(OUT / "latent-complete.png"))
    view.controls.stop_run()

    tab.views.setCurrentWidget(tab.codes)
    tab.codes.test_number.setValue(4)
    tab.codes.select((h // 2) * w + w // 2)
    wait(lambda: tab.codes.index is not None)
    tab.grab().save(str(OUT / "latent-codes.png"))
    print("wrote", *sorted(p.name for p in OUT.glob("latent-*.png")))


if __name__ == "__main__":
    main(*sys.argv[1:])
