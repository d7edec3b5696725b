"""Pool jobs (gui/workers.py): a failure reaches the window every time, its traceback the
terminal once."""
from __future__ import annotations

from arstudio.gui.workers import run_job


def test_a_repeated_failure_is_a_message_each_time_and_one_traceback(qtbot, capfd):
    def bad_kernel():
        raise ValueError("a masked convolution needs an odd kernel size >= 1, got 0")

    messages = []
    for _ in range(3):
        run_job(bad_kernel, on_error=messages.append)
        n = len(messages)
        qtbot.waitUntil(lambda: len(messages) == n + 1, timeout=10_000)
    run_job(lambda: 1 / 0, on_error=messages.append)
    qtbot.waitUntil(lambda: len(messages) == 4, timeout=10_000)
    assert messages[:3] == ["ValueError: a masked convolution needs an odd kernel size >= 1, got 0"] * 3
    assert messages[3].startswith("ZeroDivisionError")
    err = capfd.readouterr().err
    assert err.count("Traceback") == 2  # the kernel's once, the division's once
    assert err.count("ValueError: a masked convolution") == 1
