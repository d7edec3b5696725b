"""Drawing one conditional p(x_i | x_<i) on a pyqtgraph chart, shared by the image and the
sequence inspectors: bars for a categorical, a density curve for a continuous one."""
from __future__ import annotations

import numpy as np


def show_conditional(plot, bars, curve, answer: dict) -> None:
    """``answer["probs"]`` (one probability per level) as ``bars``, or, where it is None,
    ``answer["density"]`` over ``answer["grid"]`` as ``curve``; the other item is emptied and
    the view fits what is drawn."""
    probs = answer["probs"]
    if probs is not None:
        bars.setOpts(x=np.arange(len(probs)), height=probs, width=0.8)
        curve.setData([], [])
        plot.setXRange(-0.6, len(probs) - 0.4, padding=0)
        plot.setYRange(0, max(0.05, float(probs.max()) * 1.1), padding=0)
    else:
        bars.setOpts(x=np.arange(0), height=np.zeros(0))
        curve.setData(answer["grid"], answer["density"])
        plot.enableAutoRange()
