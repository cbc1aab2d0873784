"""Source time that keeps running when the input pauses.

Why: goals are judged in the input's own time (stamps), so a video replayed
faster than real time gives the same result as a live camera. But when the
input stops (camera unplugged, person out of the pipeline) the stamps stop
too, and a time limit must still expire: between stamps the clock advances
with the wall clock from the last stamp seen.
"""

from __future__ import annotations

import threading
import time


class SourceClock:
    def __init__(self, restart_after_s: float = 5.0) -> None:
        self.restart_after_s = restart_after_s
        self.restarts = 0
        self._lock = threading.Lock()
        self._stamp_s: float | None = None
        self._wall_at_stamp = 0.0
        self._last = float("-inf")

    @property
    def started(self) -> bool:
        return self._stamp_s is not None

    def observe(self, stamp_ns: int) -> tuple[float, bool]:
        """A message stamped ``stamp_ns`` arrived: (current time, whether the input restarted).

        Stamps going back by more than ``restart_after_s`` mean a new input
        (another video, a restarted camera): the clock restarts from them. The
        margin is generous because callbacks of different topics run on
        several executor threads and may deliver a late message out of order.
        """
        with self._lock:
            t = int(stamp_ns) * 1e-9
            restarted = self._stamp_s is not None and t < self._stamp_s - self.restart_after_s
            if restarted:
                self.restarts += 1
                self._stamp_s, self._last = None, float("-inf")
            if self._stamp_s is None or t >= self._stamp_s:
                self._stamp_s, self._wall_at_stamp = t, time.monotonic()
            return self._now_locked(), restarted

    def now(self) -> float | None:
        """Estimated source time now, or None before the first stamp."""
        with self._lock:
            return None if self._stamp_s is None else self._now_locked()

    def _now_locked(self) -> float:
        t = self._stamp_s + (time.monotonic() - self._wall_at_stamp)
        self._last = max(self._last, t)
        return self._last
