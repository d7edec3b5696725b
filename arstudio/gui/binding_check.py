"""Refuse to open the window on a Qt binding that would crash it minutes later.

PySide6 6.12.0 on CPython < 3.12 drops one reference to ``True`` on every emit
of a ``Signal(bool)`` or ``Signal(object)`` carrying ``True``. Before 3.12
``True`` is an ordinary refcounted object, so after a few thousand emits
(about two and a half minutes of resampling and switching tabs) its count
reaches zero and the interpreter aborts with "Fatal Python error:
bool_dealloc". On 3.12 and later ``True`` is immortal and the bug is harmless.

The check is a measurement, not only a version table: a few emits of a real
``Signal(bool)`` and a look at ``sys.getrefcount(True)``, so a future release
with the same fault is caught too. The probe repairs the references it cost
(``Py_IncRef``) so that even a refused start exits cleanly.
"""
from __future__ import annotations

import ctypes
import sys

PROBE_EMITS = 16  # enough to tell a leak from noise; each leaked reference is repaired below
GOOD_RELEASE = "6.11.3"  # measured good on 3.11 (as is 6.10.3)


def true_references_lost(emits: int = PROBE_EMITS) -> int:
    """How many references to ``True`` ``emits`` emits of a ``Signal(bool)`` lose (0 on a good binding)."""
    probe = _probe_class()()
    probe.flag.connect(_ignore)
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.flag.emit(True)
    lost = before - sys.getrefcount(True)
    probe.flag.disconnect(_ignore)
    for _ in range(max(lost, 0)):  # give back what the binding took, or the exit itself aborts
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return max(lost, 0)


def _ignore(_value) -> None:
    pass


_PROBE_CLASS = None


def _probe_class():
    """One QObject class with a ``Signal(bool)``, made once (a class per call would hold references)."""
    global _PROBE_CLASS
    if _PROBE_CLASS is None:
        from PySide6.QtCore import QObject, Signal

        class _Probe(QObject):
            flag = Signal(bool)

        _PROBE_CLASS = _Probe
    return _PROBE_CLASS


def binding_problem() -> str | None:
    """One line saying what to install instead, or None when the binding keeps its references."""
    if sys.version_info >= (3, 12):
        return None  # True and False are immortal: the leak cannot crash anything
    if true_references_lost() == 0:
        return None
    import PySide6

    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (f"PySide6 {PySide6.__version__} on Python {py} loses a reference to True on every Qt signal, "
            f"so the window would crash within minutes (Fatal Python error: bool_dealloc); install "
            f"a good release: pip install 'PySide6-Essentials=={GOOD_RELEASE}' (or use Python 3.12+)")
