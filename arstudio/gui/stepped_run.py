"""The background run loop shared by the Complete tab and the Latent tab's views.

A :class:`SteppedRun` is a plain daemon thread that walks a generator step by step and
leaves its latest NumPy snapshot for the GUI's timer (``take_latest``); tensors never
leave the thread. Before each generated step the subclass's :meth:`_work` calls
:meth:`_wait_turn`, which honours the speed (steps per second; inf = no waiting), the
pause and single steps (``step_once``). Errors end the run and are kept as text in
``error``; ``finished`` is set in every case. No Qt here.
"""
from __future__ import annotations

import threading
import time


class SteppedRun:
    """Subclasses implement :meth:`_work` (runs in the thread) and publish snapshots with
    :meth:`_publish`; they set ``result`` when the run has one."""

    def __init__(self, speed: float, thread_name: str):
        self.speed = speed  # steps per second; inf = no waiting
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self._tokens = 0  # single steps granted while paused
        self._lock = threading.Lock()
        self.latest: dict | None = None
        self.result: dict | None = None
        self.error: str | None = None
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self):
        self.thread.start()

    def step_once(self):
        with self._lock:
            self._tokens += 1

    def take_latest(self) -> dict | None:
        with self._lock:
            latest, self.latest = self.latest, None
            return latest

    def _publish(self, snapshot: dict):
        with self._lock:
            self.latest = snapshot

    def _wait_turn(self, last_time: float) -> float:
        """Blocks while paused (unless a single step is granted) and until 1/speed seconds
        have passed since ``last_time``; returns the time the turn began."""
        while self.paused.is_set() and not self.stopped.is_set():
            with self._lock:
                if self._tokens:
                    self._tokens -= 1
                    return time.monotonic()
            time.sleep(0.01)
        if self.speed != float("inf"):
            delay = 1.0 / self.speed - (time.monotonic() - last_time)
            while delay > 0 and not self.stopped.is_set() and not self.paused.is_set():
                time.sleep(min(delay, 0.02))
                delay = 1.0 / self.speed - (time.monotonic() - last_time)
        return time.monotonic()

    def _work(self):
        raise NotImplementedError

    def _run(self):
        try:
            self._work()
        except Exception as e:  # noqa: BLE001 — reported in the panel; the window lives on
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.finished.set()
