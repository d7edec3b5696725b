"""Pool jobs (gui/workers.py): a failure reaches the window every time, its traceback the
terminal once."""
from __future__ import annotations

from arstudio.gui.workers import run_job


def test_a_repeated_failure_is_a_message_each_time_and_one_traceback(qtbot, capfd):
    # words no other test's job fails with: the once-only memory lasts the whole process
    # (the window soak earlier in the suite fails a parameter count on a kernel of 0)
    def bad_kernel():
        raise ValueError("a masked convolution needs an odd kernel size >= 1, got -7 (workers test)")

    messages = []
    for _ in range(3):
        run_job(bad_kernel, on_error=messages.append)
        n = len(messages)
        qtbot.waitUntil(lambda: len(messages) == n + 1, timeout=10_000)

    def bad_rate():
        raise ZeroDivisionError("a rate of 0 Hz (workers test)")

    run_job(bad_rate, on_error=messages.append)
    qtbot.waitUntil(lambda: len(messages) == 4, timeout=10_000)
    assert messages[:3] == ["ValueError: a masked convolution needs an odd kernel size >= 1, got -7 (workers test)"] * 3
    assert messages[3] == "ZeroDivisionError: a rate of 0 Hz (workers test)"
    err = capfd.readouterr().err
    assert err.count("ValueError: a masked convolution") == 1  # the kernel's traceback once
    assert err.count("ZeroDivisionError: a rate of 0 Hz") == 1  # the rate's once
