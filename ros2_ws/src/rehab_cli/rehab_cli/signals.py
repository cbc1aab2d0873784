"""SIGINT / SIGTERM as a request to finish, for the commands that write outputs.

``rehab run`` and ``rehab session`` install ``stop_on_signals`` so Ctrl-C, a
``kill`` or ``docker stop`` ends them like the end of the input: the graph is
brought down in order (the bag gets its metadata.yaml, the video its
trailer), the JSONL and the summary are written with ``interrupted: true``,
and the exit code is 128 + the signal number. A second signal while
finishing is the user insisting: exit at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopEvent(threading.Event):
    """Set by SIGINT / SIGTERM; remembers which one."""

    signal_number = 0
    signal_name = ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number


@contextmanager
def stop_on_signals() -> Iterator[StopEvent]:
    """Within the block SIGINT / SIGTERM set the event instead of killing the process."""
    stop = StopEvent()

    def handle(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        stop.signal_number, stop.signal_name = signum, signal.Signals(signum).name
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
