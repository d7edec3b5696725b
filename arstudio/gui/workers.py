"""Run long work off the GUI thread and hand back plain Python/NumPy results.

Tensors never cross threads: the function runs entirely in a pool thread and
returns NumPy arrays or plain data, delivered to the GUI thread by a queued
signal.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)


class Job(QRunnable):
    def __init__(self, fn: Callable, *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = _Signals()
        self.cancelled = False

    def run(self):
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as e:  # shown to the user as a message, never a crash
            text = f"{type(e).__name__}: {e}"
            _print_once(text)  # before the message: whoever reads it finds the terminal written
            self._emit(self.signals.failed, text)
        else:
            self._emit(self.signals.done, result)

    @staticmethod
    def _emit(signal, value):
        try:
            signal.emit(value)
        except RuntimeError:  # the app shut down while this job ran: nobody is listening
            pass


_PRINTED: set[str] = set()


def _print_once(text: str) -> None:
    """The traceback of a failed job on stderr, once per distinct failure: the window shows
    the message each time; the terminal (for whoever debugs) needs it only once (a form
    field typed wrong re-fails the same way at every keystroke)."""
    if text not in _PRINTED:
        _PRINTED.add(text)
        traceback.print_exc()


MIN_POOL_THREADS = 4
_LIVE: set[Job] = set()  # a job's Python side (and its signals) must outlive the run


def _while_alive(owner, callback):
    """Call ``callback`` only while the widget that asked for the work still exists:
    a window closed mid-job must not receive its result."""
    if owner is None or callback is None:
        return callback
    import shiboken6

    def guarded(value):
        if shiboken6.isValid(owner):
            callback(value)

    return guarded


def _finished(job: Job) -> None:
    _LIVE.discard(job)
    # the job's work is done: let go of what it was given (a few quick jobs' wrappers are kept
    # by the binding after their run, so they must not keep paths, images or models alive)
    job.fn = job.args = job.kwargs = None
    job.signals.deleteLater()  # drops its connections (and so their closures) once delivered


def run_job(fn: Callable, *args, on_done=None, on_error=None, owner=None, **kwargs) -> Job:
    """Run ``fn(*args, **kwargs)`` in the pool; ``owner`` (a QObject) scopes the callbacks."""
    on_done, on_error = _while_alive(owner, on_done), _while_alive(owner, on_error)
    job = Job(fn, *args, **kwargs)
    _LIVE.add(job)
    if on_done:
        job.signals.done.connect(on_done)
    if on_error:
        job.signals.failed.connect(on_error)
    # connected last, so it runs after the callbacks: the connections live in C++, out of the
    # garbage collector's sight, so a job that kept them would keep itself, its callbacks and
    # everything they reach alive forever (one leaked job per request, seen in the soak test)
    job.signals.done.connect(lambda _result: _finished(job))
    job.signals.failed.connect(lambda _text: _finished(job))
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_POOL_THREADS:
        # on a 2-core machine the default pool has 2 threads: a long sampling job must
        # not make a parameter count or a dataset example wait behind it
        pool.setMaxThreadCount(MIN_POOL_THREADS)
    pool.start(job)
    return job
