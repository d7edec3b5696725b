"""Drawing one conditional p(x_i | x_<i) on a pyqtgraph chart, shared by the image and the
sequence inspectors (and the code inspector's chart): bars for a categorical, a density
curve for a continuous one."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

BAR_RGB = (90, 150, 230)


def conditional_plot(x_label: str = "level", min_height: int = 0) -> pg.PlotWidget:
    """An empty chart for one conditional: probability over ``x_label`` (levels, codes),
    a fixed view (no mouse pan or zoom), plain numbers on the probability axis."""
    plot = pg.PlotWidget()
    if min_height:
        plot.setMinimumHeight(min_height)
    plot.setLabel("left", "probability")
    plot.setLabel("bottom", x_label)
    plot.getAxis("left").enableAutoSIPrefix(False)  # show 0.25, not 250 (×0.001)
    plot.setMouseEnabled(x=False, y=False)
    return plot


def conditional_items(plot, value_rgb, levels: int = 0):
    """(bars, curve, value_line) added to ``plot``: the bars of a categorical (``levels``
    empty ones to begin with), the curve of a density and the line at the chosen value;
    :func:`show_conditional` fills the first two."""
    bars = pg.BarGraphItem(x=np.arange(levels), height=np.zeros(levels), width=0.8, brush=BAR_RGB)
    curve = pg.PlotDataItem(pen=pg.mkPen(BAR_RGB, width=2))
    value_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(value_rgb, width=2))
    for item in (bars, curve, value_line):
        plot.addItem(item)
    return bars, curve, value_line


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
