"""Garbage collection only on the GUI thread.

Python's cyclic collector runs in whichever thread happens to allocate when
a threshold is crossed. If that is a worker thread (building a model,
sampling) and the garbage holds a Qt widget, the widget's C++ destructor
runs off the GUI thread and can deadlock with it (seen in the picker's
count job). pyqtgraph's GarbageCollector turns automatic collection off and
collects from a timer on the GUI thread instead; one per process.
"""
from __future__ import annotations

_collector = None


def collect_garbage_on_gui_thread(interval_s: float = 1.0):
    """Idempotent: the first window installs it, later calls return the same one."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=interval_s)
    return _collector
